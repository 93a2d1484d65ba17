#pragma once
// OpenBLAS's CBLAS interface (Debian libopenblas-dev); pkg-config "openblas" adds its include dir.
#include <cblas.h>
