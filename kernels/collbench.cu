// collbench fill and verify kernels, compiled at run time by NVRTC for the device's architecture.
//
// No #include at all: half, bfloat16 and fp8 are converted on bits. Every function mirrors the Rust
// function named in its comment (src/data/hash.rs, formats.rs, scheme/mod.rs, check.rs); the value scheme
// is explained in src/data/scheme/mod.rs. The host generator and these kernels must agree bit for bit:
// change both together.
//
// ABI (src/data/kernels.rs):
//   cb_fill(out, count, start_index, seed, rank, nranks, dtype, op)
//   cb_verify(out, dst_offset, len, kind, src_rank, src_offset, seed, nranks, dtype, op,
//             wrong_count, first_wrong_index)
// dtype = ncclDataType_t value; op = -1 (none) or the index in ReduceOp::ALL.

typedef unsigned long long u64;
typedef long long i64;

// DataType::nccl_enum()
#define CB_INT8 0
#define CB_UINT8 1
#define CB_INT32 2
#define CB_UINT32 3
#define CB_INT64 4
#define CB_UINT64 5
#define CB_HALF 6
#define CB_FLOAT 7
#define CB_DOUBLE 8
#define CB_BFLOAT16 9
#define CB_F8E4M3 10
#define CB_F8E5M2 11

// kernels::op_code()
#define CB_OP_NONE (-1)
#define CB_OP_SUM 0
#define CB_OP_PROD 1
#define CB_OP_MAX 2
#define CB_OP_MIN 3
#define CB_OP_AVG 4
#define CB_OP_MULSUM 5

// scheme::MAX_CONTRIBUTORS, scheme::AVG_FLOAT_CONTRIBUTORS, scheme/mod.rs INT_AVG_TOTAL_LIMIT,
// check::AVG_FLOAT_TOLERANCE_ROUNDINGS
#define CB_MAX_CONTRIBUTORS 4
#define CB_AVG_FLOAT_CONTRIBUTORS 2
#define CB_INT_AVG_TOTAL_LIMIT (1ULL << 58)
#define CB_AVG_FLOAT_TOLERANCE_ROUNDINGS 4

// hash.rs constants
#define CB_GOLDEN 0x9E3779B97F4A7C15ULL
#define CB_LAYOUT_LANE 0xFFFFFFFFFFFFFFFFULL
#define CB_RANK_LANE_BASE (1ULL << 32)
#define CB_MULSUM_SALT 0x6D756C73756D0001ULL

// ---------------------------------------------------------------- hash.rs

// hash::mix64
__device__ __forceinline__ u64 cb_mix64(u64 z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// hash::below (multiply-shift range reduction)
__device__ __forceinline__ u64 cb_below(u64 hash, u64 range) {
  return __umul64hi(hash, range);
}

// hash::lane_key
__device__ __forceinline__ u64 cb_lane_key(u64 seed, u64 lane) {
  return cb_mix64(seed ^ cb_mix64(lane + CB_GOLDEN));
}

// hash::element_hash
__device__ __forceinline__ u64 cb_element_hash(u64 key, u64 index) {
  return cb_mix64((index * CB_GOLDEN) ^ key);
}

// ---------------------------------------------------------------- formats.rs

// formats::FloatFormat
struct cb_format {
  int exp_bits;
  int man_bits;
  int bias;
  int has_inf;
};

// formats::float_format (returns 0 for integer types)
__device__ __forceinline__ int cb_float_format(int dtype, cb_format* f) {
  switch (dtype) {
    case CB_HALF:     f->exp_bits = 5;  f->man_bits = 10; f->bias = 15;   f->has_inf = 1; return 1;
    case CB_BFLOAT16: f->exp_bits = 8;  f->man_bits = 7;  f->bias = 127;  f->has_inf = 1; return 1;
    case CB_FLOAT:    f->exp_bits = 8;  f->man_bits = 23; f->bias = 127;  f->has_inf = 1; return 1;
    case CB_DOUBLE:   f->exp_bits = 11; f->man_bits = 52; f->bias = 1023; f->has_inf = 1; return 1;
    case CB_F8E4M3:   f->exp_bits = 4;  f->man_bits = 3;  f->bias = 7;    f->has_inf = 0; return 1;
    case CB_F8E5M2:   f->exp_bits = 5;  f->man_bits = 2;  f->bias = 15;   f->has_inf = 1; return 1;
    default:          f->exp_bits = 0;  f->man_bits = 0;  f->bias = 0;    f->has_inf = 0; return 0;
  }
}

// DataType::size_bytes
__device__ __forceinline__ int cb_size_bytes(int dtype) {
  switch (dtype) {
    case CB_INT8: case CB_UINT8: case CB_F8E4M3: case CB_F8E5M2: return 1;
    case CB_HALF: case CB_BFLOAT16: return 2;
    case CB_INT32: case CB_UINT32: case CB_FLOAT: return 4;
    default: return 8;
  }
}

// DataType::is_signed_int
__device__ __forceinline__ int cb_is_signed_int(int dtype) {
  return dtype == CB_INT8 || dtype == CB_INT32 || dtype == CB_INT64;
}

// FloatFormat::exp_all_ones / man_mask / sign_bit / max_finite_bits
__device__ __forceinline__ u64 cb_exp_all_ones(cb_format f) { return (1ULL << f.exp_bits) - 1; }
__device__ __forceinline__ u64 cb_man_mask(cb_format f) { return (1ULL << f.man_bits) - 1; }
__device__ __forceinline__ u64 cb_sign_bit(cb_format f) { return 1ULL << (f.exp_bits + f.man_bits); }
__device__ __forceinline__ u64 cb_max_finite_bits(cb_format f) {
  if (f.has_inf) return ((cb_exp_all_ones(f) - 1) << f.man_bits) | cb_man_mask(f);
  return (cb_exp_all_ones(f) << f.man_bits) | (cb_man_mask(f) - 1);
}

// FloatFormat::epsilon / min_subnormal
__device__ __forceinline__ double cb_pow2(int k);
__device__ __forceinline__ double cb_epsilon(cb_format f) { return cb_pow2(-f.man_bits); }
__device__ __forceinline__ double cb_min_subnormal(cb_format f) {
  if (f.exp_bits == 11) return __longlong_as_double(1LL);
  return cb_pow2(1 - f.bias - f.man_bits);
}

// formats::pow2
__device__ __forceinline__ double cb_pow2(int k) {
  return __longlong_as_double((i64)(((u64)(k + 1023)) << 52));
}

__device__ __forceinline__ double cb_abs(double x) { return x < 0.0 ? -x : x; }

// formats::small_to_f64
__device__ __forceinline__ double cb_small_to_f64(cb_format f, u64 bits) {
  int negative = ((bits >> (f.exp_bits + f.man_bits)) & 1) == 1;
  u64 exp = (bits >> f.man_bits) & cb_exp_all_ones(f);
  u64 man = bits & cb_man_mask(f);
  double magnitude;
  if (exp == 0) {
    magnitude = (double)man * cb_pow2(1 - f.bias - f.man_bits);
  } else if (f.has_inf && exp == cb_exp_all_ones(f)) {
    magnitude = man == 0 ? __longlong_as_double(0x7FF0000000000000LL) : __longlong_as_double(0x7FF8000000000000LL);
  } else if (!f.has_inf && exp == cb_exp_all_ones(f) && man == cb_man_mask(f)) {
    magnitude = __longlong_as_double(0x7FF8000000000000LL);
  } else {
    magnitude = (double)(man + (1ULL << f.man_bits)) * cb_pow2((int)exp - f.bias - f.man_bits);
  }
  return negative ? -magnitude : magnitude;
}

// formats::f64_to_small (round to nearest even; overflow: inf, or saturate for e4m3)
__device__ __forceinline__ u64 cb_f64_to_small(cb_format f, double x) {
  u64 xb = (u64)__double_as_longlong(x);
  u64 sign = (xb >> 63) << (f.exp_bits + f.man_bits);
  int exp_field = (int)((xb >> 52) & 0x7FF);
  if (exp_field == 0x7FF && (xb & 0x000FFFFFFFFFFFFFULL) != 0) {
    return sign | (cb_exp_all_ones(f) << f.man_bits) | (1ULL << (f.man_bits - 1)) | (f.has_inf ? 0ULL : cb_man_mask(f));
  }
  u64 magnitude;
  if (exp_field == 0x7FF) {
    magnitude = 0xFFFFFFFFFFFFFFFFULL;
  } else if (exp_field == 0) {
    magnitude = 0;
  } else {
    u64 significand = (xb & 0x000FFFFFFFFFFFFFULL) | (1ULL << 52);
    int biased = exp_field - 1023 + f.bias;
    unsigned shift = biased >= 1 ? (unsigned)(52 - f.man_bits) : (unsigned)(52 - f.man_bits + (1 - biased));
    if (shift > 60) {
      magnitude = 0;
    } else {
      u64 kept = significand >> shift;
      u64 rest = significand & ((1ULL << shift) - 1);
      u64 half = 1ULL << (shift - 1);
      if (rest > half || (rest == half && (kept & 1) == 1)) kept += 1;
      if (biased >= 1) {
        magnitude = (((u64)biased) << f.man_bits) + kept - (1ULL << f.man_bits);
      } else {
        magnitude = kept;
      }
    }
  }
  if (magnitude > cb_max_finite_bits(f)) {
    if (f.has_inf) return sign | (cb_exp_all_ones(f) << f.man_bits);
    return sign | cb_max_finite_bits(f);
  }
  return sign | magnitude;
}

// formats::bits_to_f64
__device__ __forceinline__ double cb_bits_to_f64(cb_format f, u64 bits) {
  if (f.exp_bits == 11) return __longlong_as_double((i64)bits);
  if (f.exp_bits == 8 && f.man_bits == 23) return (double)__uint_as_float((unsigned)bits);
  return cb_small_to_f64(f, bits);
}

// formats::f64_to_bits
__device__ __forceinline__ u64 cb_f64_to_bits(cb_format f, double x) {
  if (f.exp_bits == 11) return (u64)__double_as_longlong(x);
  if (f.exp_bits == 8 && f.man_bits == 23) return (u64)__float_as_uint(__double2float_rn(x));
  return cb_f64_to_small(f, x);
}

// formats::sanitize_float
__device__ __forceinline__ u64 cb_sanitize_float(cb_format f, u64 bits) {
  u64 sign = bits & cb_sign_bit(f);
  u64 exp = (bits >> f.man_bits) & cb_exp_all_ones(f);
  u64 man = bits & cb_man_mask(f);
  if (exp == 0) exp = 1;
  if (exp == cb_exp_all_ones(f)) {
    if (f.has_inf) {
      exp -= 1;
    } else if (man == cb_man_mask(f)) {
      man -= 1;
    }
  }
  return sign | (exp << f.man_bits) | man;
}

// formats::int_value, split: signed types compare as sign-extended i64, unsigned as u64.
__device__ __forceinline__ i64 cb_sign_extend(int dtype, u64 bits) {
  int shift = 64 - 8 * cb_size_bytes(dtype);
  return ((i64)(bits << shift)) >> shift;
}
__device__ __forceinline__ int cb_int_greater(int dtype, u64 a, u64 b) {
  if (cb_is_signed_int(dtype)) return cb_sign_extend(dtype, a) > cb_sign_extend(dtype, b);
  return a > b;
}

// ---------------------------------------------------------------- scheme/mod.rs

// scheme::mulsum_factor
__device__ __forceinline__ u64 cb_mulsum_factor(u64 rank) {
  return 1 + (cb_mix64(rank ^ CB_MULSUM_SALT) & 1);
}

// scheme::Scheme
struct cb_scheme {
  u64 seed;
  int dtype;
  int op;
  u64 nranks;
  u64 contributors;
  u64 layout_key;
  u64 contributor_keys[CB_MAX_CONTRIBUTORS];
  u64 width_mask;
  int is_float;
  cb_format fmt;
  u64 float_magnitude;
  u64 int_avg_limit;
  u64 background;
};

// Scheme::new
__device__ __forceinline__ void cb_scheme_init(cb_scheme* s, u64 seed, int nranks, int dtype, int op) {
  s->seed = seed;
  s->dtype = dtype;
  s->op = op;
  s->nranks = nranks < 1 ? 1ULL : (u64)nranks;
  int width = cb_size_bytes(dtype) * 8;
  s->width_mask = width == 64 ? 0xFFFFFFFFFFFFFFFFULL : ((1ULL << width) - 1);
  s->is_float = cb_float_format(dtype, &s->fmt);
  int exact_integer_bits = s->is_float ? s->fmt.man_bits + 1 : 0;
  s->float_magnitude = s->is_float ? (1ULL << exact_integer_bits) / (2 * CB_MAX_CONTRIBUTORS) : 0;
  u64 type_max = cb_is_signed_int(dtype) ? (s->width_mask >> 1) : s->width_mask;
  u64 limited = type_max < CB_INT_AVG_TOTAL_LIMIT ? type_max : CB_INT_AVG_TOTAL_LIMIT;
  s->int_avg_limit = limited / s->nranks;
  for (int j = 0; j < CB_MAX_CONTRIBUTORS; j++) s->contributor_keys[j] = cb_lane_key(seed, (u64)j);
  u64 k = (s->is_float && op == CB_OP_AVG) ? (u64)CB_AVG_FLOAT_CONTRIBUTORS : (u64)CB_MAX_CONTRIBUTORS;
  s->contributors = s->nranks < k ? s->nranks : k;
  s->layout_key = cb_lane_key(seed, CB_LAYOUT_LANE);
  s->background = 0;
}

__device__ __forceinline__ u64 cb_background_bits(const cb_scheme* s);

// Scheme::new, second part: the cached background value.
__device__ __forceinline__ void cb_scheme_finish(cb_scheme* s) {
  s->background = cb_background_bits(s);
}

// Scheme::rank_key
__device__ __forceinline__ u64 cb_rank_key(const cb_scheme* s, u64 rank) {
  return cb_lane_key(s->seed, CB_RANK_LANE_BASE + rank);
}

// Scheme::layout (returns the layout hash; *start = first contributing rank)
__device__ __forceinline__ u64 cb_layout(const cb_scheme* s, u64 index, u64* start) {
  u64 hash = cb_element_hash(s->layout_key, index);
  *start = ((hash & 0xFFFFFFFFULL) * s->nranks) >> 32;
  return hash;
}

// Scheme::scale_exponent
__device__ __forceinline__ int cb_scale_exponent(u64 layout_hash) {
  return (int)((layout_hash >> 32) & 7) - 4;
}

// Scheme::int_avg_value
__device__ __forceinline__ u64 cb_int_avg_value(const cb_scheme* s, u64 layout_hash, int* negative) {
  u64 magnitude = cb_below(layout_hash, s->int_avg_limit + 1);
  *negative = cb_is_signed_int(s->dtype) && ((layout_hash >> 34) & 1) == 1;
  return magnitude;
}

// Scheme::negate_if
__device__ __forceinline__ u64 cb_negate_if(const cb_scheme* s, u64 magnitude, int negative) {
  if (negative) return (0ULL - magnitude) & s->width_mask;
  return magnitude & s->width_mask;
}

// Scheme::float_sum_integer
__device__ __forceinline__ i64 cb_float_sum_integer(const cb_scheme* s, u64 contributor_hash) {
  return (i64)cb_below(contributor_hash, 2 * s->float_magnitude + 1) - (i64)s->float_magnitude;
}

// Scheme::float_prod_factor (returns a of ±2^a; *negative = sign)
__device__ __forceinline__ int cb_float_prod_factor(u64 contributor_hash, int* negative) {
  *negative = ((contributor_hash >> 2) & 1) == 1;
  return (int)(contributor_hash & 3) - 1;
}

// Scheme::background_bits
__device__ __forceinline__ u64 cb_background_bits(const cb_scheme* s) {
  if (s->op == CB_OP_NONE) return 0;
  if (s->is_float) {
    switch (s->op) {
      case CB_OP_PROD: return cb_f64_to_bits(s->fmt, 1.0);
      case CB_OP_MAX: return cb_max_finite_bits(s->fmt) | cb_sign_bit(s->fmt);
      case CB_OP_MIN: return cb_max_finite_bits(s->fmt);
      default: return 0;
    }
  }
  int is_signed = cb_is_signed_int(s->dtype);
  switch (s->op) {
    case CB_OP_PROD: return 1;
    case CB_OP_MAX: return is_signed ? (s->width_mask >> 1) + 1 : 0;
    case CB_OP_MIN: return is_signed ? (s->width_mask >> 1) : s->width_mask;
    default: return 0;
  }
}

// Scheme::contributor_bits
__device__ __forceinline__ u64 cb_contributor_bits(const cb_scheme* s, u64 layout_hash, u64 j, u64 contributor_hash) {
  if (!s->is_float) {
    switch (s->op) {
      case CB_OP_PROD: return (contributor_hash | 1) & s->width_mask;
      case CB_OP_AVG: {
        int negative;
        u64 v = cb_int_avg_value(s, layout_hash, &negative);
        u64 total = v * s->nranks;
        u64 share = total * (j + 1) / s->contributors - total * j / s->contributors;
        return cb_negate_if(s, share, negative);
      }
      default: return contributor_hash & s->width_mask;
    }
  }
  switch (s->op) {
    case CB_OP_SUM:
    case CB_OP_MULSUM: {
      i64 m = cb_float_sum_integer(s, contributor_hash);
      return cb_f64_to_bits(s->fmt, (double)m * cb_pow2(cb_scale_exponent(layout_hash)));
    }
    case CB_OP_PROD: {
      int negative;
      int a = cb_float_prod_factor(contributor_hash, &negative);
      double magnitude = cb_pow2(a);
      return cb_f64_to_bits(s->fmt, negative ? -magnitude : magnitude);
    }
    case CB_OP_AVG:
      return cb_f64_to_bits(s->fmt, (double)cb_below(contributor_hash, s->float_magnitude + 1));
    default:  // max, min
      return cb_sanitize_float(s->fmt, contributor_hash & s->width_mask);
  }
}

// Scheme::input_bits_keyed
__device__ __forceinline__ u64 cb_input_bits_keyed(const cb_scheme* s, u64 rank, u64 rank_key, u64 index) {
  if (s->op == CB_OP_NONE) {
    u64 h = cb_element_hash(rank_key, index);
    if (s->is_float) return cb_sanitize_float(s->fmt, h & s->width_mask);
    return h & s->width_mask;
  }
  u64 start;
  u64 layout_hash = cb_layout(s, index, &start);
  u64 j = rank >= start ? rank - start : rank + s->nranks - start;
  if (j >= s->contributors) return s->background;
  u64 contributor_hash = cb_element_hash(s->contributor_keys[j], index);
  return cb_contributor_bits(s, layout_hash, j, contributor_hash);
}

// Scheme::expected_reduce (*quotient: the exact average for float avg, else NaN)
__device__ __forceinline__ u64 cb_expected_reduce(const cb_scheme* s, u64 index, double* quotient) {
  *quotient = __longlong_as_double(0x7FF8000000000000LL);
  if (s->op == CB_OP_NONE) return cb_input_bits_keyed(s, 0, cb_rank_key(s, 0), index);
  u64 start;
  u64 layout_hash = cb_layout(s, index, &start);
  u64 n = s->contributors;
  if (!s->is_float) {
    u64 acc;
    switch (s->op) {
      case CB_OP_SUM:
      case CB_OP_MULSUM:
        acc = 0;
        for (u64 j = 0; j < n; j++) {
          u64 v = cb_contributor_bits(s, layout_hash, j, cb_element_hash(s->contributor_keys[j], index));
          u64 factor = s->op == CB_OP_MULSUM ? cb_mulsum_factor((start + j) % s->nranks) : 1;
          acc = acc + v * factor;
        }
        break;
      case CB_OP_PROD:
        acc = 1;
        for (u64 j = 0; j < n; j++) {
          acc = acc * cb_contributor_bits(s, layout_hash, j, cb_element_hash(s->contributor_keys[j], index));
        }
        break;
      case CB_OP_AVG: {
        int negative;
        u64 v = cb_int_avg_value(s, layout_hash, &negative);
        acc = cb_negate_if(s, v, negative);
        break;
      }
      default: {  // max, min
        acc = cb_contributor_bits(s, layout_hash, 0, cb_element_hash(s->contributor_keys[0], index));
        for (u64 j = 1; j < n; j++) {
          u64 v = cb_contributor_bits(s, layout_hash, j, cb_element_hash(s->contributor_keys[j], index));
          if ((s->op == CB_OP_MAX && cb_int_greater(s->dtype, v, acc)) ||
              (s->op == CB_OP_MIN && cb_int_greater(s->dtype, acc, v))) {
            acc = v;
          }
        }
      }
    }
    return acc & s->width_mask;
  }
  switch (s->op) {
    case CB_OP_SUM:
    case CB_OP_MULSUM: {
      i64 total = 0;
      for (u64 j = 0; j < n; j++) {
        i64 factor = s->op == CB_OP_MULSUM ? (i64)cb_mulsum_factor((start + j) % s->nranks) : 1;
        total += factor * cb_float_sum_integer(s, cb_element_hash(s->contributor_keys[j], index));
      }
      return cb_f64_to_bits(s->fmt, (double)total * cb_pow2(cb_scale_exponent(layout_hash)));
    }
    case CB_OP_PROD: {
      int negative = 0;
      int exponent = 0;
      for (u64 j = 0; j < n; j++) {
        int neg;
        exponent += cb_float_prod_factor(cb_element_hash(s->contributor_keys[j], index), &neg);
        negative ^= neg;
      }
      double magnitude = cb_pow2(exponent);
      return cb_f64_to_bits(s->fmt, negative ? -magnitude : magnitude);
    }
    case CB_OP_AVG: {
      u64 total = 0;
      for (u64 j = 0; j < n; j++) {
        total += cb_below(cb_element_hash(s->contributor_keys[j], index), s->float_magnitude + 1);
      }
      double q = (double)total / (double)s->nranks;
      *quotient = q;
      return cb_f64_to_bits(s->fmt, q);
    }
    default: {  // max, min
      u64 best = cb_contributor_bits(s, layout_hash, 0, cb_element_hash(s->contributor_keys[0], index));
      for (u64 j = 1; j < n; j++) {
        u64 v = cb_contributor_bits(s, layout_hash, j, cb_element_hash(s->contributor_keys[j], index));
        double a = cb_bits_to_f64(s->fmt, v);
        double b = cb_bits_to_f64(s->fmt, best);
        if ((s->op == CB_OP_MAX && a > b) || (s->op == CB_OP_MIN && a < b)) best = v;
      }
      return best;
    }
  }
}

// ---------------------------------------------------------------- check.rs

// check::avg_float_tolerance
__device__ __forceinline__ double cb_avg_float_tolerance(cb_format f, double quotient) {
  double u = cb_epsilon(f) / 2.0;
  double relative = u * (4.0 + u * (6.0 + u * (4.0 + u)));
  return relative * cb_abs(quotient) + (double)CB_AVG_FLOAT_TOLERANCE_ROUNDINGS * cb_min_subnormal(f);
}

// check::within_avg_tolerance (NaN fails)
__device__ __forceinline__ int cb_within_avg_tolerance(cb_format f, u64 got_bits, double quotient) {
  return cb_abs(cb_bits_to_f64(f, got_bits) - quotient) <= cb_avg_float_tolerance(f, quotient);
}

__device__ __forceinline__ void cb_store(void* out, int elt_size, u64 i, u64 bits) {
  switch (elt_size) {
    case 1: ((unsigned char*)out)[i] = (unsigned char)bits; break;
    case 2: ((unsigned short*)out)[i] = (unsigned short)bits; break;
    case 4: ((unsigned int*)out)[i] = (unsigned int)bits; break;
    default: ((u64*)out)[i] = bits; break;
  }
}

__device__ __forceinline__ u64 cb_load(const void* out, int elt_size, u64 i) {
  switch (elt_size) {
    case 1: return ((const unsigned char*)out)[i];
    case 2: return ((const unsigned short*)out)[i];
    case 4: return ((const unsigned int*)out)[i];
    default: return ((const u64*)out)[i];
  }
}

// check::fill_input: elements start_index .. start_index + count of `rank`'s input into out[0 .. count].
extern "C" __global__ void cb_fill(void* out, unsigned long long count, unsigned long long start_index, unsigned long long seed, int rank, int nranks, int dtype, int op) {
  cb_scheme s;
  cb_scheme_init(&s, seed, nranks, dtype, op);
  cb_scheme_finish(&s);
  int elt_size = cb_size_bytes(dtype);
  u64 rank_key = cb_rank_key(&s, (u64)rank);
  u64 stride = (u64)blockDim.x * gridDim.x;
  for (u64 i = (u64)blockIdx.x * blockDim.x + threadIdx.x; i < count; i += stride) {
    cb_store(out, elt_size, i, cb_input_bits_keyed(&s, (u64)rank, rank_key, start_index + i));
  }
}

// cb_verify's kind: data::kernels::VERIFY_KIND_*.
#define CB_VERIFY_COPY 0
#define CB_VERIFY_REDUCE 1
#define CB_VERIFY_UNTOUCHED 2

// check::check_output for one segment: out[dst_offset + j] against expected element src_offset + j,
// j < len. kind CB_VERIFY_COPY = Segment::Copy from src_rank, CB_VERIFY_REDUCE = Segment::Reduce,
// CB_VERIFY_UNTOUCHED = Segment::Untouched: every element must still hold the poison, whose bits
// come in src_offset (the host's data::poison_bits, so the two cannot disagree).
extern "C" __global__ void cb_verify(const void* out, unsigned long long dst_offset, unsigned long long len, int kind, int src_rank, unsigned long long src_offset, unsigned long long seed, int nranks, int dtype, int op, unsigned long long* wrong_count, unsigned long long* first_wrong_index) {
  cb_scheme s;
  cb_scheme_init(&s, seed, nranks, dtype, op);
  cb_scheme_finish(&s);
  int elt_size = cb_size_bytes(dtype);
  int float_avg = s.is_float && op == CB_OP_AVG;
  u64 rank_key = cb_rank_key(&s, (u64)src_rank);
  u64 wrong = 0;
  u64 first = 0xFFFFFFFFFFFFFFFFULL;
  u64 stride = (u64)blockDim.x * gridDim.x;
  for (u64 j = (u64)blockIdx.x * blockDim.x + threadIdx.x; j < len; j += stride) {
    u64 got = cb_load(out, elt_size, dst_offset + j);
    int ok;
    if (kind == CB_VERIFY_COPY) {
      ok = got == cb_input_bits_keyed(&s, (u64)src_rank, rank_key, src_offset + j);
    } else if (kind == CB_VERIFY_UNTOUCHED) {
      ok = got == src_offset;
    } else {
      double quotient;
      u64 expected = cb_expected_reduce(&s, src_offset + j, &quotient);
      ok = float_avg ? cb_within_avg_tolerance(s.fmt, got, quotient) : got == expected;
    }
    if (!ok) {
      wrong += 1;
      if (dst_offset + j < first) first = dst_offset + j;
    }
  }
  if (wrong != 0) {
    atomicAdd(wrong_count, wrong);
    atomicMin(first_wrong_index, first);
  }
}
