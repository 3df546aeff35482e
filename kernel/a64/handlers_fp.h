// Scalar floating point and Advanced SIMD handlers (every fp_*.table and simd_*.table
// entry). Included from handlers.h.
#pragma once
#include "simd_common.h"
#include "fp_dp.h"
#include "fp_cmp.h"
#include "fp_cvt.h"
#include "simd_three_same.h"
#include "simd_ldst.h"
#include "simd_copy.h"
#include "simd_permute.h"
#include "simd_modimm.h"
#include "simd_two_reg_misc.h"
#include "simd_across.h"
#include "simd_shift_imm.h"
#include "simd_three_diff.h"
#include "simd_indexed.h"
