#ifndef CISAL_SHIM_H
#define CISAL_SHIM_H
// ISA-L's streaming inflate (Debian: libisal-dev), about 2.7x zlib's speed: fffrun's gzip input.
#include <isa-l/igzip_lib.h>
#endif
