#ifndef CZSTD_SHIM_H
#define CZSTD_SHIM_H
// ZSTD_STATIC_LINKING_ONLY is not defined: only libzstd's stable API is used.
#include <zstd.h>
#include <zstd_errors.h>
#endif
