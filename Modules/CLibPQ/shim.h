#ifndef ATLAS_CLIBPQ_SHIM_H
#define ATLAS_CLIBPQ_SHIM_H
#include <postgresql/libpq-fe.h>
#endif
