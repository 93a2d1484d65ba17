#include <microhttpd.h>
#include "MicroHTTPDShim.h"
int mhd_shim_version(void) { return 1; }
