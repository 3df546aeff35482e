// Every instruction handler, one file per Arm ARM encoding class; the generated decoder
// (a64_decode.gen.h) calls them by the names in the decode tables.
#pragma once
#include "handlers_int.h"
#include "handlers_fp.h"
