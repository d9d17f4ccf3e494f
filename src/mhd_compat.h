/* mhd_compat.h - libmicrohttpd version shims, in one place for every
 * module that talks to libmicrohttpd (http.c, admin.c). */
#ifndef USERD_MHD_COMPAT_H
#define USERD_MHD_COMPAT_H

#include <microhttpd.h>

/* What an access handler returns: an int before 0.9.71's enum MHD_Result. */
#if MHD_VERSION < 0x00097002
typedef int MHD_Result_t;
#else
typedef enum MHD_Result MHD_Result_t;
#endif

#endif
