#include "include/CFFFKernels.h"
