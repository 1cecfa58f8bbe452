#ifndef CFFFKERNELS_H
#define CFFFKERNELS_H
#endif
