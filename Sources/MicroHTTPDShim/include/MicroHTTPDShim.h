#pragma once
int mhd_shim_version(void);
