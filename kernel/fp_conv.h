// Arm FP conversions and estimates (Arm ARM shared/functions/float/*): round to
// integral (FRINT*), FPToFixed/FixedToFP with saturation, FCVT between precisions
// (half in software), FCVTXN round-to-odd, FRECPE/FRSQRTE/FRECPX and the integer
// reciprocal estimate tables shared with URECPE/URSQRTE. See fp.h for conventions.
#pragma once
#include "fp.h"

// ---- rounding to integral and conversions ----------------------------------------------

/// Round a double to an integral value with rounding mode rm (FPRM_*); *inexact set.
GFN double fp_round_int(double v, u32 rm, bool* inexact) {
    u64 bits = f64_bits(v);
    bool neg = (bits >> 63) != 0;
    double mag = bits_f64(bits & ~(1ull << 63));
    *inexact = false;
    if (!(mag < 4503599627370496.0)) return v;  // >= 2^52, inf: already integral
    double t = (double)(i64)v;  // toward zero, exact
    double f = v - t;            // exact
    if (f == 0.0) return v;
    *inexact = true;
    double s = neg ? -1.0 : 1.0, af = neg ? -f : f;
    double r = t;
    switch (rm) {
    case FPRM_POSINF: if (!neg) r = t + 1.0; break;
    case FPRM_NEGINF: if (neg) r = t - 1.0; break;
    case FPRM_ZERO: break;
    case FPRM_TIEAWAY: if (af >= 0.5) r = t + s; break;
    default:
        if (af > 0.5 || (af == 0.5 && ((i64)t & 1))) r = t + s;
        break;
    }
    if (r == 0.0) r = neg ? -0.0 : 0.0;
    return r;
}

/// FRINT*: round to integral in the same format (sz 2 or 3); exact: FRINTX raises IXC.
GFN u64 fp_rint(FPEnv& e, u64 x, u32 sz, u32 rm, bool exact) {
    x = fp_in(e, x, sz);
    u64 r;
    if (fp_nans2(e, x, x, sz, &r)) return r;
    bool inexact;
    double v = fp_round_int(fp_val(x, sz), rm, &inexact);
    if (exact && inexact) e.flags |= FPSR_IXC;
    return sz == 2 ? (u64)f32_bits((float)v) : f64_bits(v);
}

/// FPToFixed: x (sz) * 2^fbits rounded with rm to a signed/unsigned integer of ibits
/// (32 or 64) bits, saturating; NaN -> 0. Result is zero-extended to 64 bits.
GFN_NOINLINE u64 fp_to_fixed(FPEnv& e, u64 x, u32 sz, u32 fbits, bool is_unsigned, u32 ibits, u32 rm) {
    x = fp_in(e, x, sz);
    if (fp_is_nan(x, sz)) {
        e.flags |= FPSR_IOC;
        return 0;
    }
    double v = fp_val(x, sz);
    if (fbits) v = v * bits_f64((u64)(1023 + fbits) << 52);  // exact (or inf)
    bool inexact;
    double r = fp_round_int(v, rm, &inexact);
    if (inexact) e.flags |= FPSR_IXC;
    double hi = ibits == 64 ? (is_unsigned ? 18446744073709551616.0 : 9223372036854775808.0)
                            : (is_unsigned ? 4294967296.0 : 2147483648.0);
    if (is_unsigned) {
        if (r >= hi) { e.flags |= FPSR_IOC; return ones(ibits); }
        if (r < 0.0) { e.flags |= FPSR_IOC; return 0; }
        return r >= 9223372036854775808.0 ? (u64)(i64)(r - 9223372036854775808.0) + (1ull << 63) : (u64)(i64)r;
    }
    if (r >= hi) { e.flags |= FPSR_IOC; return ones(ibits - 1); }
    if (r < -hi) { e.flags |= FPSR_IOC; return (1ull << (ibits - 1)) & ones(ibits); }
    return (u64)(i64)r & ones(ibits);
}

/// FixedToFP: integer v (ibits wide, signed or not) / 2^fbits, rounded per FPCR, to sz.
GFN_NOINLINE u64 fp_from_fixed(FPEnv& e, u64 v, bool is_signed, u32 ibits, u32 fbits, u32 sz) {
    if (ibits == 32) v = is_signed ? (u64)(i64)(i32)(u32)v : (u64)(u32)v;
    u32 rm = fp_rmode(e);
    if (sz == 2) {
        float f = fp_i2f(v, is_signed, rm);
        if (fbits) f = f * bits_f32((u32)(127 - fbits) << 23);  // exact: never denormal
        return f32_bits(f);
    }
    double d = fp_i2d(v, is_signed, rm);
    if (fbits) d = d * bits_f64((u64)(1023 - fbits) << 52);
    return f64_bits(d);
}

/// Double (bits) to half precision with rounding mode rm (no flush, IEEE half).
GFN u64 fp_d2h_bits(u64 d, u32 rm) {
    u64 sign = (d >> 48) & 0x8000;
    i32 exp = (i32)((d >> 52) & 0x7ff);
    u64 frac = d & ones(52);
    if (exp == 0x7ff) return sign | 0x7c00;  // infinity (NaNs handled by the caller)
    if (exp == 0 && frac == 0) return sign;
    u64 m;
    i32 ue;  // unbiased exponent of the leading 1
    if (exp == 0) {  // double denormal: far below the half range, only stickiness matters
        m = (1ull << 52) | 1;
        ue = -1023;
    } else {
        m = frac | (1ull << 52);
        ue = exp - 1023;
    }
    // Target: 10 fraction bits at exponent max(ue, -14).
    i32 shift = 42 + (ue < -14 ? (-14 - ue) : 0);
    u64 kept, rem, half;
    if (shift >= 64) {
        kept = 0; rem = 1; half = 2;  // nonzero remainder below half
        if (shift == 64) { rem = m; half = 1ull << 63; }
    } else {
        kept = m >> shift;
        rem = m & ones(shift);
        half = 1ull << (shift - 1);
    }
    bool neg = sign != 0, up = false;
    switch (rm) {
    case FPRM_TIEEVEN: up = rem > half || (rem == half && (kept & 1)); break;
    case FPRM_TIEAWAY: up = rem >= half; break;
    case FPRM_POSINF: up = rem != 0 && !neg; break;
    case FPRM_NEGINF: up = rem != 0 && neg; break;
    default: break;
    }
    kept += up ? 1 : 0;
    u64 bits;
    if (ue < -14) bits = kept;  // denormal (kept == 1024 becomes the smallest normal)
    else bits = ((u64)(ue + 15) << 10) + (kept - 1024);
    if (bits >= 0x7c00) {  // overflow
        bool to_inf = rm == FPRM_TIEEVEN || rm == FPRM_TIEAWAY || (rm == FPRM_POSINF && !neg) || (rm == FPRM_NEGINF && neg);
        bits = to_inf ? 0x7c00 : 0x7bff;
    }
    return sign | bits;
}

/// FCVT between precisions (FPConvert): from sz to dsz (each 1, 2 or 3).
GFN_NOINLINE u64 fp_convert(FPEnv& e, u64 x, u32 sz, u32 dsz) {
    x = fp_in(e, x, sz);
    if (fp_is_nan(x, sz)) {
        if (fp_is_snan(x, sz)) e.flags |= FPSR_IOC;
        if (e.fpcr & FPCR_DN) return fp_default_nan(dsz);
        // FPConvertNaN: keep the sign and the top fraction bits, set the quiet bit.
        u64 sign = fp_sign(x, sz) ? fp_signbit(dsz) : 0;
        u64 frac = x & fp_fracmask(sz);
        u32 fs = fp_fracbits(sz), fd = fp_fracbits(dsz);
        frac = fd >= fs ? frac << (fd - fs) : frac >> (fs - fd);
        return sign | fp_expmask(dsz) | fp_qbit(dsz) | frac;
    }
    u32 rm = fp_rmode(e);
    if (dsz == 1) return fp_d2h_bits(f64_bits(fp_val(x, sz)), rm);
    if (dsz == 3) return f64_bits(fp_val(x, sz));
    u64 r = f32_bits(sz == 3 ? fp_d2f(bits_f64(x), rm) : (float)fp_val(x, sz));
    return fp_out(e, r, 2);
}

// ---- reciprocal estimates (Arm ARM RecipEstimate / RecipSqrtEstimate) ---------------------

/// RecipEstimate: a in 256..511 (9-bit input), returns 256..511.
GFN u32 fp_recip_est(u32 a) {
    a = a * 2 + 1;
    u32 b = (1u << 19) / a;
    return (b + 1) / 2;
}
/// RecipSqrtEstimate: a in 128..511, returns 256..511.
GFN u32 fp_rsqrt_est(u32 a) {
    if (a < 256) a = a * 2 + 1;
    else a = (a >> 1) * 4 + 2;  // a<8:1>:'10' (a is 9-bit with top set)
    u32 b = 512;
    while (a * (b + 1) * (b + 1) < (1u << 28)) b++;
    return (b + 1) / 2;
}

/// FRECPE for sz 2/3.
GFN_NOINLINE u64 fp_recpe(FPEnv& e, u64 x, u32 sz) {
    x = fp_in(e, x, sz);
    u64 r;
    if (fp_nans2(e, x, x, sz, &r)) return r;
    u64 sign = x & fp_signbit(sz);
    if (fp_is_inf(x, sz)) return sign;
    if (fp_is_zero(x, sz)) {
        e.flags |= FPSR_DZC;
        return sign | fp_expmask(sz);
    }
    u32 fb = fp_fracbits(sz);
    i32 exp = (i32)((x & fp_expmask(sz)) >> fb);
    u64 frac = x & fp_fracmask(sz);
    // Very small: overflow to inf or max normal per rounding mode.
    u64 tiny = sz == 2 ? (1ull << 21) : (1ull << 50);  // |x| < 2^-(bias+1)
    if (exp == 0 && frac < tiny) {
        u32 rm = fp_rmode(e);
        bool neg = sign != 0;
        bool to_inf = rm == FPRM_TIEEVEN || (rm == FPRM_POSINF && !neg) || (rm == FPRM_NEGINF && neg);
        e.flags |= FPSR_OFC | FPSR_IXC;
        return sign | (to_inf ? fp_expmask(sz) : ((fp_expmask(sz) - (1ull << fb)) | fp_fracmask(sz)));
    }
    // Flush large results (FZ and result would be denormal).
    if ((e.fpcr & FPCR_FZ) && exp >= (sz == 2 ? 253 : 2045)) {
        e.flags |= FPSR_UFC;
        return sign;
    }
    // Normalize to a 53-bit fraction view (top bits at fb-1).
    u64 f = frac << (52 - fb);
    if (exp == 0) {
        if (!(f & (1ull << 51))) {
            exp = -1;
            f = (f & ones(50)) << 2;
        } else {
            f = (f & ones(51)) << 1;
        }
    }
    u32 scaled = (u32)(256 | (f >> 44));  // '1':fraction<51:44>
    i32 rexp = (sz == 2 ? 253 : 2045) - exp;
    u32 est = fp_recip_est(scaled);
    u64 rf = (u64)(est & 0xff) << 44;
    if (rexp == 0) {
        rf = (1ull << 51) | (rf >> 1);
    } else if (rexp == -1) {
        rf = (1ull << 50) | (rf >> 2);
        rexp = 0;
    }
    return sign | ((u64)rexp << fb) | (rf >> (52 - fb));
}

/// FRSQRTE for sz 2/3.
GFN_NOINLINE u64 fp_rsqrte(FPEnv& e, u64 x, u32 sz) {
    x = fp_in(e, x, sz);
    u64 r;
    if (fp_nans2(e, x, x, sz, &r)) return r;
    u64 sign = x & fp_signbit(sz);
    if (fp_is_zero(x, sz)) {
        e.flags |= FPSR_DZC;
        return sign | fp_expmask(sz);
    }
    if (sign) {
        e.flags |= FPSR_IOC;
        return fp_default_nan(sz);
    }
    if (fp_is_inf(x, sz)) return 0;
    u32 fb = fp_fracbits(sz);
    i32 exp = (i32)((x & fp_expmask(sz)) >> fb);
    u64 f = (x & fp_fracmask(sz)) << (52 - fb);
    if (exp == 0) {
        while (!(f & (1ull << 51))) {
            f <<= 1;
            exp--;
        }
        f = (f & ones(51)) << 1;
    }
    u32 scaled = (exp & 1) == 0 ? (u32)(256 | (f >> 44)) : (u32)(128 | (f >> 45));
    i32 rexp = sz == 2 ? (380 - exp) / 2 : (3068 - exp) / 2;
    u32 est = fp_rsqrt_est(scaled);
    return ((u64)(rexp & (sz == 2 ? 0xff : 0x7ff)) << fb) | ((u64)(est & 0xff) << (fb - 8));
}

/// FRECPX: reciprocal exponent (sign kept, exponent inverted, fraction zero).
GFN u64 fp_recpx(FPEnv& e, u64 x, u32 sz) {
    x = fp_in(e, x, sz);
    u64 r;
    if (fp_nans2(e, x, x, sz, &r)) return r;
    u64 em = fp_expmask(sz), exp = x & em;
    u64 rexp = exp == 0 ? (em - (1ull << fp_fracbits(sz))) & em : (~exp & em);
    return (x & fp_signbit(sz)) | rexp;
}

/// FCVTXN: double to single with round-to-odd.
GFN u64 fp_d2f_odd(FPEnv& e, u64 x) {
    x = fp_in(e, x, 3);
    if (fp_is_nan(x, 3)) return fp_convert(e, x, 3, 2);
    double v = bits_f64(x);
    u64 r = f32_bits(fp_d2f(v, FPRM_ZERO));
    if (!fp_is_inf(x, 3) && (double)bits_f32((u32)r) != v) r |= 1;
    return fp_out(e, r, 2);
}
