//! Which bytes of a 64-byte block are quotes, commas and line breaks, one bit per byte.
//!
//! This is the scanner's only per-byte work, so it is done 16 bytes per instruction with
//! the vector instructions every x86_64 (SSE2) and aarch64 (NEON) CPU has, and 32 at a
//! time on x86_64 CPUs with AVX2 (detected at run time: nearly all made since 2013).
//! Other targets get the same masks a byte at a time.

/// Bit `i` of each mask is set when byte `i` of the block is that byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Masks {
    /// `"`
    pub quote: u64,
    /// `,`
    pub comma: u64,
    /// `\r` or `\n`
    pub line_break: u64,
}

/// A way of computing the masks of a block.
pub trait Classify: Copy {
    /// The masks of `block`.
    fn masks(self, block: &[u8; 64]) -> Masks;
}

/// The vector instructions every CPU of the target has (SSE2, NEON), or a byte at a time.
#[derive(Debug, Clone, Copy)]
pub struct Baseline;

impl Classify for Baseline {
    #[inline(always)]
    fn masks(self, block: &[u8; 64]) -> Masks {
        baseline(block)
    }
}

/// AVX2, 32 bytes per instruction. A value exists only where the CPU has AVX2, which is
/// what makes its use safe.
#[cfg(target_arch = "x86_64")]
#[derive(Debug, Clone, Copy)]
pub struct Avx2(());

#[cfg(target_arch = "x86_64")]
impl Avx2 {
    /// `Some` where the CPU has AVX2 (a cached flag, after the first call).
    #[inline(always)]
    pub fn detect() -> Option<Avx2> {
        std::arch::is_x86_feature_detected!("avx2").then_some(Avx2(()))
    }

    /// Runs `f` compiled for AVX2: `f` is inlined into a function that may use it, so that
    /// the masks are computed inline in `f`'s loops, not by a call per block.
    #[inline(always)]
    pub fn vectorize<R>(self, f: impl FnOnce() -> R) -> R {
        #[target_feature(enable = "avx2")]
        unsafe fn with_avx2<R>(f: impl FnOnce() -> R) -> R {
            f()
        }
        // SAFETY: `self` exists, so the CPU has AVX2.
        unsafe { with_avx2(f) }
    }
}

#[cfg(target_arch = "x86_64")]
impl Classify for Avx2 {
    #[inline(always)]
    fn masks(self, block: &[u8; 64]) -> Masks {
        // SAFETY: `self` exists, so the CPU has AVX2.
        unsafe { avx2(block) }
    }
}

/// The masks of `block`, 32 bytes per instruction.
///
/// # Safety
///
/// The CPU must have AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn avx2(block: &[u8; 64]) -> Masks {
    use std::arch::x86_64::{
        __m256i, _mm256_cmpeq_epi8, _mm256_loadu_si256, _mm256_movemask_epi8, _mm256_or_si256,
        _mm256_set1_epi8,
    };
    // SAFETY: the caller guarantees AVX2; the two unaligned 32-byte loads read exactly the
    // 64 bytes of `block`. (A macro, not a closure: a closure would not be compiled with
    // this function's AVX2.)
    unsafe {
        let p = block.as_ptr().cast::<__m256i>();
        let (low, high) = (_mm256_loadu_si256(p), _mm256_loadu_si256(p.add(1)));
        macro_rules! mask {
            ($x:ident => $eq:expr) => {{
                let low = {
                    let $x = low;
                    _mm256_movemask_epi8($eq) as u32
                };
                let high = {
                    let $x = high;
                    _mm256_movemask_epi8($eq) as u32
                };
                u64::from(low) | u64::from(high) << 32
            }};
        }
        let (quote, comma, cr, lf) = (
            _mm256_set1_epi8(b'"' as i8),
            _mm256_set1_epi8(b',' as i8),
            _mm256_set1_epi8(b'\r' as i8),
            _mm256_set1_epi8(b'\n' as i8),
        );
        Masks {
            quote: mask!(x => _mm256_cmpeq_epi8(x, quote)),
            comma: mask!(x => _mm256_cmpeq_epi8(x, comma)),
            line_break: mask!(x => _mm256_or_si256(
                _mm256_cmpeq_epi8(x, cr),
                _mm256_cmpeq_epi8(x, lf)
            )),
        }
    }
}

/// The masks of `block`, 16 bytes per instruction: SSE2 is part of the x86_64 baseline.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn baseline(block: &[u8; 64]) -> Masks {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
    };
    /// The bits of the bytes of `v` for which `eq` sets all bits.
    fn mask(v: &[__m128i; 4], eq: impl Fn(__m128i) -> __m128i) -> u64 {
        v.iter().enumerate().fold(0, |m, (i, &x)| {
            // SAFETY: SSE2 is part of the x86_64 baseline.
            let bits = unsafe { _mm_movemask_epi8(eq(x)) };
            m | u64::from(bits as u16) << (16 * i)
        })
    }
    // SAFETY: as above; the four unaligned 16-byte loads read exactly the 64 bytes of
    // `block`.
    unsafe {
        let p = block.as_ptr().cast::<__m128i>();
        let v = [0, 1, 2, 3].map(|i| _mm_loadu_si128(p.add(i)));
        let (quote, comma, cr, lf) = (
            _mm_set1_epi8(b'"' as i8),
            _mm_set1_epi8(b',' as i8),
            _mm_set1_epi8(b'\r' as i8),
            _mm_set1_epi8(b'\n' as i8),
        );
        Masks {
            quote: mask(&v, |x| _mm_cmpeq_epi8(x, quote)),
            comma: mask(&v, |x| _mm_cmpeq_epi8(x, comma)),
            line_break: mask(&v, |x| {
                _mm_or_si128(_mm_cmpeq_epi8(x, cr), _mm_cmpeq_epi8(x, lf))
            }),
        }
    }
}

/// The masks of `block`, 16 bytes per instruction: NEON is part of the aarch64 baseline.
#[cfg(all(target_arch = "aarch64", target_endian = "little"))]
#[inline(always)]
fn baseline(block: &[u8; 64]) -> Masks {
    use std::arch::aarch64::{
        uint8x16_t, vandq_u8, vceqq_u8, vdupq_n_u8, vgetq_lane_u64, vld1q_u8, vorrq_u8, vpaddq_u8,
        vreinterpretq_u64_u8,
    };
    /// The bits of the bytes of `v` for which `eq` sets all bits: each matching byte
    /// keeps the weight of its place in its 8-byte half, and three rounds of pairwise
    /// sums gather the 64 weights into 8 bytes, in order.
    fn mask(v: &[uint8x16_t; 4], eq: impl Fn(uint8x16_t) -> uint8x16_t) -> u64 {
        const WEIGHTS: [u8; 16] = [1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128];
        // SAFETY: NEON is part of the aarch64 baseline; the load reads the 16 bytes of
        // `WEIGHTS`.
        unsafe {
            let weights = vld1q_u8(WEIGHTS.as_ptr());
            let m = v.map(|x| vandq_u8(eq(x), weights));
            let low = vpaddq_u8(m[0], m[1]);
            let high = vpaddq_u8(m[2], m[3]);
            let all = vpaddq_u8(low, high);
            vgetq_lane_u64(vreinterpretq_u64_u8(vpaddq_u8(all, all)), 0)
        }
    }
    // SAFETY: as above; the four 16-byte loads read exactly the 64 bytes of `block`.
    unsafe {
        let p = block.as_ptr();
        let v = [0, 1, 2, 3].map(|i| vld1q_u8(p.add(16 * i)));
        let (quote, comma, cr, lf) = (
            vdupq_n_u8(b'"'),
            vdupq_n_u8(b','),
            vdupq_n_u8(b'\r'),
            vdupq_n_u8(b'\n'),
        );
        Masks {
            quote: mask(&v, |x| vceqq_u8(x, quote)),
            comma: mask(&v, |x| vceqq_u8(x, comma)),
            line_break: mask(&v, |x| vorrq_u8(vceqq_u8(x, cr), vceqq_u8(x, lf))),
        }
    }
}

/// The masks of `block`, a byte at a time.
#[cfg(not(any(
    target_arch = "x86_64",
    all(target_arch = "aarch64", target_endian = "little")
)))]
#[inline(always)]
fn baseline(block: &[u8; 64]) -> Masks {
    bytewise(block)
}

/// The masks of `block`, a byte at a time: the other targets' implementation, and the
/// reference the vector ones are tested against.
#[cfg(any(
    test,
    not(any(
        target_arch = "x86_64",
        all(target_arch = "aarch64", target_endian = "little")
    ))
))]
fn bytewise(block: &[u8; 64]) -> Masks {
    let mask = |hit: &dyn Fn(u8) -> bool| {
        block
            .iter()
            .enumerate()
            .fold(0u64, |m, (i, &b)| m | u64::from(hit(b)) << i)
    };
    Masks {
        quote: mask(&|b| b == b'"'),
        comma: mask(&|b| b == b','),
        line_break: mask(&|b| b == b'\r' || b == b'\n'),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn vector_masks_match_the_bytewise_ones(
            bytes in prop::collection::vec(prop::sample::select(&b"\",\r\na \x00\x0b\x8d\xac\xff"[..]), 64)
        ) {
            let block: [u8; 64] = bytes.try_into().unwrap();
            for masks in classifiers() {
                prop_assert_eq!(masks(&block), bytewise(&block));
            }
        }
    }

    /// Every way of computing masks this CPU has.
    fn classifiers() -> Vec<fn(&[u8; 64]) -> Masks> {
        let baseline: fn(&[u8; 64]) -> Masks = |b| Baseline.masks(b);
        #[cfg(target_arch = "x86_64")]
        if Avx2::detect().is_some() {
            return vec![baseline, |b| {
                Avx2::detect().expect("detected above").masks(b)
            }];
        }
        vec![baseline]
    }

    #[test]
    fn bit_i_is_byte_i() {
        let mut block = [b'x'; 64];
        for (i, b) in [(0, b'"'), (15, b','), (16, b'\r'), (47, b'\n'), (63, b'"')] {
            block[i] = b;
        }
        for masks in classifiers() {
            assert_eq!(
                masks(&block),
                Masks {
                    quote: 1 | 1 << 63,
                    comma: 1 << 15,
                    line_break: 1 << 16 | 1 << 47,
                }
            );
        }
    }
}
