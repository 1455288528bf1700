//! A baseline JPEG encoder for the one shape sscard writes: 8-bit colour, 4:2:0 chroma,
//! the IJG quality scale and the standard (Annex K) Huffman tables, a JFIF header with the
//! density in dots per inch.
//!
//! Written for speed on the photo path (a card photo is encoded at least twice, card and chip):
//! fixed-point colour conversion with the 2×2 chroma average taken on the RGB sums, the
//! floating-point AAN forward DCT with the quantiser folded into its output scale (libjpeg's
//! `jfdctflt`), a mask of the non-zero coefficients so the entropy coder jumps over zero runs,
//! and a 64-bit bit buffer that writes whole 32-bit words when they need no `0xFF` stuffing.
//! Output is what libjpeg writes for `quality`, `4:2:0`, no optimised tables: the same
//! quantisation tables and therefore the same file-size behaviour under the quality search.

// Y, Cb, Cr, r, g, b and the tmp10…z13 of the AAN DCT are the names of T.81 and libjpeg.
#![allow(clippy::similar_names, clippy::many_single_char_names)]

/// Natural (row-major) index of the `k`-th coefficient in zig-zag order.
const ZIGZAG: [usize; 64] = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20,
    13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59,
    52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
];

/// Where [`fdct`] leaves the `k`-th coefficient in zig-zag order: natural `v·8 + u` at `u·8 + v`.
const TRANSPOSED_ZIGZAG: [usize; 64] = {
    let mut t = [0; 64];
    let mut k = 0;
    while k < 64 {
        t[k] = (ZIGZAG[k] % 8) * 8 + ZIGZAG[k] / 8;
        k += 1;
    }
    t
};

/// ITU T.81 Annex K.1, luminance, natural order.
const LUMA_Q: [u16; 64] = [
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113,
    92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
];

/// ITU T.81 Annex K.1, chrominance, natural order.
const CHROMA_Q: [u16; 64] = [
    17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99, 24, 26, 56, 99, 99, 99, 99, 99,
    47, 66, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
];

// ITU T.81 Annex K.3: code lengths (count of codes of each length 1..=16) and symbols.
const DC_LUMA_BITS: [u8; 16] = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0];
const DC_CHROMA_BITS: [u8; 16] = [0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0];
const DC_VALUES: [u8; 12] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
const AC_LUMA_BITS: [u8; 16] = [0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7d];
const AC_LUMA_VALUES: [u8; 162] = [
    0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06, 0x13, 0x51, 0x61, 0x07,
    0x22, 0x71, 0x14, 0x32, 0x81, 0x91, 0xa1, 0x08, 0x23, 0x42, 0xb1, 0xc1, 0x15, 0x52, 0xd1, 0xf0,
    0x24, 0x33, 0x62, 0x72, 0x82, 0x09, 0x0a, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x25, 0x26, 0x27, 0x28,
    0x29, 0x2a, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49,
    0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69,
    0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89,
    0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7,
    0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3, 0xc4, 0xc5,
    0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xe1, 0xe2,
    0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8,
    0xf9, 0xfa,
];
const AC_CHROMA_BITS: [u8; 16] = [0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 0x77];
const AC_CHROMA_VALUES: [u8; 162] = [
    0x00, 0x01, 0x02, 0x03, 0x11, 0x04, 0x05, 0x21, 0x31, 0x06, 0x12, 0x41, 0x51, 0x07, 0x61, 0x71,
    0x13, 0x22, 0x32, 0x81, 0x08, 0x14, 0x42, 0x91, 0xa1, 0xb1, 0xc1, 0x09, 0x23, 0x33, 0x52, 0xf0,
    0x15, 0x62, 0x72, 0xd1, 0x0a, 0x16, 0x24, 0x34, 0xe1, 0x25, 0xf1, 0x17, 0x18, 0x19, 0x1a, 0x26,
    0x27, 0x28, 0x29, 0x2a, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48,
    0x49, 0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68,
    0x69, 0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87,
    0x88, 0x89, 0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5,
    0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3,
    0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda,
    0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8,
    0xf9, 0xfa,
];

/// AAN scale factors: `cos(k·π/16)·√2` for k > 0, 1 for k = 0.
const AAN: [f32; 8] = [
    1.0,
    1.387_039_8,
    1.306_563,
    1.175_875_6,
    1.0,
    0.785_694_96,
    0.541_196_1,
    0.275_899_38,
];

/// Encode `rgb` (`width × height`, 3 bytes a pixel, rows top to bottom) as a baseline JPEG.
///
/// # Panics
/// When the buffer does not hold `width × height` pixels or a side is 0 or over 65,535.
pub(crate) fn encode(rgb: &[u8], width: u32, height: u32, quality: u8, dpi: u16) -> Vec<u8> {
    assert!(width > 0 && height > 0 && width <= 0xFFFF && height <= 0xFFFF);
    assert_eq!(rgb.len(), width as usize * height as usize * 3);
    let luma_q = scaled_table(&LUMA_Q, quality);
    let chroma_q = scaled_table(&CHROMA_Q, quality);
    let planes = Planes::of(rgb, width as usize, height as usize);

    let mut out = Vec::with_capacity(32 * 1024);
    header(
        &mut out,
        width as u16,
        height as u16,
        dpi,
        &luma_q,
        &chroma_q,
    );

    let luma = Component::new(
        &luma_q,
        &DC_LUMA_BITS,
        &DC_VALUES,
        &AC_LUMA_BITS,
        &AC_LUMA_VALUES,
    );
    let chroma = Component::new(
        &chroma_q,
        &DC_CHROMA_BITS,
        &DC_VALUES,
        &AC_CHROMA_BITS,
        &AC_CHROMA_VALUES,
    );
    let mut bits = BitWriter::new(out);
    let (mut dc_y, mut dc_cb, mut dc_cr) = (0i32, 0i32, 0i32);
    let mut block = [[0f32; 8]; 8];
    let (mcu_cols, mcu_rows) = (planes.yw / 16, planes.yh / 16);
    for my in 0..mcu_rows {
        for mx in 0..mcu_cols {
            for (bx, by) in [(0, 0), (8, 0), (0, 8), (8, 8)] {
                load(&planes.y, planes.yw, mx * 16 + bx, my * 16 + by, &mut block);
                luma.encode_block(&mut block, &mut dc_y, &mut bits);
            }
            load(&planes.cb, planes.cw, mx * 8, my * 8, &mut block);
            chroma.encode_block(&mut block, &mut dc_cb, &mut bits);
            load(&planes.cr, planes.cw, mx * 8, my * 8, &mut block);
            chroma.encode_block(&mut block, &mut dc_cr, &mut bits);
        }
    }
    let mut out = bits.finish();
    out.extend_from_slice(&[0xFF, 0xD9]);
    out
}

/// The IJG quality scaling of a base table (libjpeg `jpeg_quality_scaling`), baseline-clamped.
fn scaled_table(base: &[u16; 64], quality: u8) -> [u8; 64] {
    let q = u32::from(quality.clamp(1, 100));
    let scale = if q < 50 { 5000 / q } else { 200 - 2 * q };
    let mut out = [0u8; 64];
    for (o, &b) in out.iter_mut().zip(base) {
        *o = ((u32::from(b) * scale + 50) / 100).clamp(1, 255) as u8;
    }
    out
}

/// The three planes, padded to whole MCUs by repeating the last column and row.
struct Planes {
    y: Vec<u8>,
    cb: Vec<u8>,
    cr: Vec<u8>,
    yw: usize,
    yh: usize,
    cw: usize,
}

impl Planes {
    fn of(rgb: &[u8], w: usize, h: usize) -> Planes {
        let yw = w.div_ceil(16) * 16;
        let yh = h.div_ceil(16) * 16;
        let (cw, ch) = (yw / 2, yh / 2);
        let mut y = vec![0u8; yw * yh];
        // Luma, fixed point (16 fractional bits) with the JFIF coefficients.
        for row in 0..h {
            let src = &rgb[row * w * 3..(row + 1) * w * 3];
            let dst = &mut y[row * yw..row * yw + w];
            // Eight pixels at a time from a 24-byte chunk, so the multiply-adds run on vectors.
            let mut chunks = src.chunks_exact(24);
            let mut out = dst.chunks_exact_mut(8);
            for (p, d) in (&mut chunks).zip(&mut out) {
                let v: [u32; 8] = std::array::from_fn(|i| {
                    let (r, g, b) = (
                        u32::from(p[3 * i]),
                        u32::from(p[3 * i + 1]),
                        u32::from(p[3 * i + 2]),
                    );
                    (19_595 * r + 38_470 * g + 7_471 * b + 32_768) >> 16
                });
                for (d, v) in d.iter_mut().zip(v) {
                    *d = v as u8;
                }
            }
            for (d, p) in out
                .into_remainder()
                .iter_mut()
                .zip(chunks.remainder().chunks_exact(3))
            {
                let (r, g, b) = (u32::from(p[0]), u32::from(p[1]), u32::from(p[2]));
                *d = ((19_595 * r + 38_470 * g + 7_471 * b + 32_768) >> 16) as u8;
            }
            let last = y[row * yw + w - 1];
            y[row * yw + w..(row + 1) * yw].fill(last);
        }
        for row in h..yh {
            y.copy_within((h - 1) * yw..h * yw, row * yw);
        }
        // Chroma on the 2×2 sums of R, G and B (the conversion is linear, so this is the
        // average of the four pixels' chroma), edge pixels repeated past the image.
        let mut cb = vec![0u8; cw * ch];
        let mut cr = vec![0u8; cw * ch];
        let px = |x: usize, y: usize| {
            let i = (y.min(h - 1) * w + x.min(w - 1)) * 3;
            (
                i32::from(rgb[i]),
                i32::from(rgb[i + 1]),
                i32::from(rgb[i + 2]),
            )
        };
        let full_cols = w / 2;
        for cy in 0..ch {
            let (y0, y1) = ((2 * cy).min(h - 1), (2 * cy + 1).min(h - 1));
            let top = &rgb[y0 * w * 3..(y0 + 1) * w * 3];
            let bottom = &rgb[y1 * w * 3..(y1 + 1) * w * 3];
            let cb_row = &mut cb[cy * cw..(cy + 1) * cw];
            let cr_row = &mut cr[cy * cw..(cy + 1) * cw];
            let pairs = top.chunks_exact(6).zip(bottom.chunks_exact(6));
            for ((b, r), (t, u)) in cb_row.iter_mut().zip(cr_row.iter_mut()).zip(pairs) {
                let sum = |k: usize| {
                    i32::from(t[k]) + i32::from(t[3 + k]) + i32::from(u[k]) + i32::from(u[3 + k])
                };
                (*b, *r) = chroma_of(sum(0), sum(1), sum(2));
            }
            for cx in full_cols..cw {
                let (x0, x1) = (2 * cx, 2 * cx + 1);
                let mut sum = (0, 0, 0);
                for (x, yy) in [
                    (x0, 2 * cy),
                    (x1, 2 * cy),
                    (x0, 2 * cy + 1),
                    (x1, 2 * cy + 1),
                ] {
                    let (r, g, b) = px(x, yy);
                    sum = (sum.0 + r, sum.1 + g, sum.2 + b);
                }
                (cb_row[cx], cr_row[cx]) = chroma_of(sum.0, sum.1, sum.2);
            }
        }
        Planes {
            y,
            cb,
            cr,
            yw,
            yh,
            cw,
        }
    }
}

/// Cb and Cr of the sums of four pixels' R, G and B: 16 fractional bits, plus 2 for the sum.
#[inline]
fn chroma_of(r: i32, g: i32, b: i32) -> (u8, u8) {
    let cb = (-11_059 * r - 21_709 * g + 32_768 * b + (128 << 18) + (1 << 17)) >> 18;
    let cr = (32_768 * r - 27_439 * g - 5_329 * b + (128 << 18) + (1 << 17)) >> 18;
    (cb.clamp(0, 255) as u8, cr.clamp(0, 255) as u8)
}

/// The 8×8 block at (`x`, `y`) of a plane `stride` wide, level-shifted to −128..127, as eight
/// rows of eight.
fn load(plane: &[u8], stride: usize, x: usize, y: usize, block: &mut [[f32; 8]; 8]) {
    for (r, row) in block.iter_mut().enumerate() {
        let src = &plane[(y + r) * stride + x..(y + r) * stride + x + 8];
        for (d, &s) in row.iter_mut().zip(src) {
            *d = f32::from(s) - 128.0;
        }
    }
}

/// One pass of the AAN forward DCT (libjpeg `jfdctflt`) down all eight columns at once: the
/// loop runs over the lanes of the rows, so it compiles to vector arithmetic.
#[inline]
#[allow(clippy::needless_range_loop)] // i is the lane of all eight rows
fn fdct_columns(d: &mut [[f32; 8]; 8]) {
    for i in 0..8 {
        let tmp0 = d[0][i] + d[7][i];
        let tmp7 = d[0][i] - d[7][i];
        let tmp1 = d[1][i] + d[6][i];
        let tmp6 = d[1][i] - d[6][i];
        let tmp2 = d[2][i] + d[5][i];
        let tmp5 = d[2][i] - d[5][i];
        let tmp3 = d[3][i] + d[4][i];
        let tmp4 = d[3][i] - d[4][i];

        let tmp10 = tmp0 + tmp3;
        let tmp13 = tmp0 - tmp3;
        let tmp11 = tmp1 + tmp2;
        let tmp12 = tmp1 - tmp2;
        d[0][i] = tmp10 + tmp11;
        d[4][i] = tmp10 - tmp11;
        let z1 = (tmp12 + tmp13) * 0.707_106_77;
        d[2][i] = tmp13 + z1;
        d[6][i] = tmp13 - z1;

        let tmp10 = tmp4 + tmp5;
        let tmp11 = tmp5 + tmp6;
        let tmp12 = tmp6 + tmp7;
        let z5 = (tmp10 - tmp12) * 0.382_683_43;
        let z2 = 0.541_196_1 * tmp10 + z5;
        let z4 = 1.306_563 * tmp12 + z5;
        let z3 = tmp11 * 0.707_106_77;
        let z11 = tmp7 + z3;
        let z13 = tmp7 - z3;
        d[5][i] = z13 + z2;
        d[3][i] = z13 - z2;
        d[1][i] = z11 + z4;
        d[7][i] = z11 - z4;
    }
}

/// The 2-D forward DCT: columns, transpose, columns again. The result is transposed: the
/// coefficient of vertical frequency `v` and horizontal `u` is at `[u][v]`.
#[inline]
fn fdct(d: &mut [[f32; 8]; 8]) {
    fdct_columns(d);
    let t: [[f32; 8]; 8] = std::array::from_fn(|r| std::array::from_fn(|c| d[c][r]));
    *d = t;
    fdct_columns(d);
}

/// A Huffman table as (code, length) per symbol.
struct Huffman {
    code: [u16; 256],
    size: [u8; 256],
}

impl Huffman {
    /// ITU T.81 Annex C: canonical codes from the count of codes of each length.
    fn new(bits: &[u8; 16], values: &[u8]) -> Huffman {
        let mut table = Huffman {
            code: [0; 256],
            size: [0; 256],
        };
        let mut code = 0u16;
        let mut k = 0;
        for (len, &count) in bits.iter().enumerate() {
            for _ in 0..count {
                let symbol = usize::from(values[k]);
                table.code[symbol] = code;
                table.size[symbol] = len as u8 + 1;
                code += 1;
                k += 1;
            }
            code <<= 1;
        }
        table
    }
}

/// What one component's blocks are coded with: its quantiser and Huffman tables.
struct Component {
    /// `1 / (q · aan[v] · aan[u] · 8)` at `u·8 + v`, where [`fdct`] leaves that coefficient.
    divisors: [f32; 64],
    dc: Huffman,
    ac: Huffman,
}

impl Component {
    fn new(
        q: &[u8; 64],
        dc_bits: &[u8; 16],
        dc_values: &[u8],
        ac_bits: &[u8; 16],
        ac_values: &[u8],
    ) -> Component {
        let mut divisors = [0f32; 64];
        for (t, d) in divisors.iter_mut().enumerate() {
            let (u, v) = (t / 8, t % 8);
            *d = 1.0 / (f32::from(q[v * 8 + u]) * AAN[v] * AAN[u] * 8.0);
        }
        Component {
            divisors,
            dc: Huffman::new(dc_bits, dc_values),
            ac: Huffman::new(ac_bits, ac_values),
        }
    }

    /// Transform, quantise and entropy-code one level-shifted block.
    fn encode_block(&self, block: &mut [[f32; 8]; 8], prev_dc: &mut i32, bits: &mut BitWriter) {
        fdct(block);
        let mut quantised = [0i32; 64];
        for ((q, &v), &d) in quantised
            .iter_mut()
            .zip(block.as_flattened())
            .zip(&self.divisors)
        {
            *q = round(v * d);
        }
        let mut zz = [0i32; 64];
        for (z, &t) in zz.iter_mut().zip(&TRANSPOSED_ZIGZAG) {
            *z = quantised[t];
        }
        let mut nonzero = 0u64;
        for (k, &z) in zz.iter().enumerate() {
            nonzero |= u64::from(z != 0) << k;
        }

        let diff = zz[0] - *prev_dc;
        *prev_dc = zz[0];
        let (cat, extra) = magnitude(diff);
        bits.put_code(&self.dc, cat, extra);

        let mut mask = nonzero & !1;
        let mut last = 0u32;
        while mask != 0 {
            let k = mask.trailing_zeros();
            let mut run = k - last - 1;
            while run > 15 {
                bits.put(u32::from(self.ac.code[0xF0]), u32::from(self.ac.size[0xF0]));
                run -= 16;
            }
            let (cat, extra) = magnitude(zz[k as usize]);
            bits.put_code(&self.ac, (run << 4) as u8 | cat, extra);
            last = k;
            mask &= mask - 1;
        }
        if last != 63 {
            bits.put(u32::from(self.ac.code[0]), u32::from(self.ac.size[0]));
        }
    }
}

/// Round to the nearest integer (ties to even) for |x| < 2²²: adding 1.5 · 2²³ leaves the
/// integer in the mantissa. No libm call and no saturation check, unlike `as`.
#[inline]
fn round(x: f32) -> i32 {
    const MAGIC: f32 = 12_582_912.0;
    (x + MAGIC).to_bits() as i32 - 0x4B40_0000
}

/// The size category of a coefficient and its extra bits (ones' complement for negatives).
#[inline]
fn magnitude(v: i32) -> (u8, u32) {
    let abs = v.unsigned_abs();
    let cat = 32 - abs.leading_zeros();
    let extra = if v < 0 { (v - 1) as u32 } else { v as u32 };
    (cat as u8, extra & ((1u32 << cat) - 1))
}

/// Entropy-coded data with `0xFF` byte stuffing.
struct BitWriter {
    out: Vec<u8>,
    acc: u64,
    count: u32,
}

impl BitWriter {
    fn new(out: Vec<u8>) -> BitWriter {
        BitWriter {
            out,
            acc: 0,
            count: 0,
        }
    }

    /// A Huffman code followed by `cat` extra bits (at most 16 + 11 bits together).
    #[inline]
    fn put_code(&mut self, table: &Huffman, symbol: u8, extra: u32) {
        let size = u32::from(table.size[usize::from(symbol)]);
        let cat = u32::from(symbol & 0x0F);
        let code = u32::from(table.code[usize::from(symbol)]);
        self.put((code << cat) | extra, size + cat);
    }

    /// The low `n` bits of `value` (n ≤ 32).
    #[inline]
    fn put(&mut self, value: u32, n: u32) {
        self.acc = (self.acc << n) | u64::from(value);
        self.count += n;
        if self.count >= 32 {
            self.count -= 32;
            let word = (self.acc >> self.count) as u32;
            let bytes = word.to_be_bytes();
            // A byte is 0xFF when its low seven bits plus one carry into its top bit and the
            // top bit is set; the carry never crosses into the next byte.
            let has_ff = ((word & 0x7F7F_7F7F) + 0x0101_0101) & word & 0x8080_8080 != 0;
            if has_ff {
                for b in bytes {
                    self.out.push(b);
                    if b == 0xFF {
                        self.out.push(0);
                    }
                }
            } else {
                self.out.extend_from_slice(&bytes);
            }
        }
    }

    /// Pad the last byte with ones and return the stream.
    fn finish(mut self) -> Vec<u8> {
        let pad = (8 - self.count % 8) % 8;
        if pad > 0 {
            self.acc = (self.acc << pad) | ((1u64 << pad) - 1);
            self.count += pad;
        }
        while self.count >= 8 {
            self.count -= 8;
            let b = (self.acc >> self.count) as u8;
            self.out.push(b);
            if b == 0xFF {
                self.out.push(0);
            }
        }
        self.out
    }
}

/// SOI, JFIF APP0, the two quantisation tables, SOF0, the four Huffman tables and SOS.
fn header(
    out: &mut Vec<u8>,
    width: u16,
    height: u16,
    dpi: u16,
    luma: &[u8; 64],
    chroma: &[u8; 64],
) {
    out.extend_from_slice(&[0xFF, 0xD8]);
    // APP0: "JFIF\0", version 1.01, units 1 (dots per inch), density, no thumbnail.
    out.extend_from_slice(&[0xFF, 0xE0, 0, 16, b'J', b'F', b'I', b'F', 0, 1, 1, 1]);
    out.extend_from_slice(&dpi.to_be_bytes());
    out.extend_from_slice(&dpi.to_be_bytes());
    out.extend_from_slice(&[0, 0]);
    // DQT: both tables, 8-bit, in zig-zag order.
    out.extend_from_slice(&[0xFF, 0xDB, 0, 132]);
    for (id, table) in [(0u8, luma), (1, chroma)] {
        out.push(id);
        out.extend(ZIGZAG.iter().map(|&n| table[n]));
    }
    // SOF0: 8-bit, three components; Y 2×2 with table 0, Cb and Cr 1×1 with table 1.
    out.extend_from_slice(&[0xFF, 0xC0, 0, 17, 8]);
    out.extend_from_slice(&height.to_be_bytes());
    out.extend_from_slice(&width.to_be_bytes());
    out.extend_from_slice(&[3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
    // DHT: DC 0, AC 0, DC 1, AC 1.
    let tables: [(u8, &[u8; 16], &[u8]); 4] = [
        (0x00, &DC_LUMA_BITS, &DC_VALUES),
        (0x10, &AC_LUMA_BITS, &AC_LUMA_VALUES),
        (0x01, &DC_CHROMA_BITS, &DC_VALUES),
        (0x11, &AC_CHROMA_BITS, &AC_CHROMA_VALUES),
    ];
    let length: usize = 2 + tables.iter().map(|(_, _, v)| 17 + v.len()).sum::<usize>();
    out.extend_from_slice(&[0xFF, 0xC4]);
    out.extend_from_slice(&(length as u16).to_be_bytes());
    for (class_id, bits, values) in tables {
        out.push(class_id);
        out.extend_from_slice(bits);
        out.extend_from_slice(values);
    }
    // SOS: three components, full spectral range.
    out.extend_from_slice(&[0xFF, 0xDA, 0, 12, 3, 1, 0x00, 2, 0x11, 3, 0x11, 0, 63, 0]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn psnr(a: &[u8], b: &[u8]) -> f64 {
        let se: f64 = a
            .iter()
            .zip(b)
            .map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2))
            .sum();
        let mse = se / a.len() as f64;
        10.0 * (255.0 * 255.0 / mse).log10()
    }

    fn gradient(w: u32, h: u32) -> Vec<u8> {
        let mut v = Vec::with_capacity((w * h * 3) as usize);
        for y in 0..h {
            for x in 0..w {
                let r = (x * 255 / w.max(1)) as u8;
                let g = (y * 255 / h.max(1)) as u8;
                let b = (((x / 7 + y / 5) % 2) * 60 + 100) as u8;
                v.extend_from_slice(&[r, g, b]);
            }
        }
        v
    }

    #[test]
    fn decodes_back_close_to_the_source_at_every_odd_size() {
        for (w, h) in [(1, 1), (7, 9), (16, 16), (17, 33), (102, 126), (358, 441)] {
            let rgb = gradient(w, h);
            let jpeg = encode(&rgb, w, h, 90, 350);
            let back = image::load_from_memory_with_format(&jpeg, image::ImageFormat::Jpeg)
                .expect("our JPEG decodes")
                .to_rgb8();
            assert_eq!(back.dimensions(), (w, h));
            if w * h >= 256 {
                let p = psnr(&rgb, back.as_raw());
                assert!(p > 28.0, "{w}×{h}: PSNR {p:.1} dB");
            }
        }
    }

    #[test]
    fn lower_quality_gives_a_smaller_file_and_the_header_carries_the_density() {
        let rgb = gradient(358, 441);
        let high = encode(&rgb, 358, 441, 95, 350);
        let low = encode(&rgb, 358, 441, 40, 350);
        assert!(low.len() < high.len());
        // JFIF density: units at 13, X at 14..16, Y at 16..18.
        assert_eq!(high[13], 1);
        assert_eq!(u16::from_be_bytes([high[14], high[15]]), 350);
        assert_eq!(u16::from_be_bytes([high[16], high[17]]), 350);
        assert_eq!(&high[high.len() - 2..], &[0xFF, 0xD9]);
    }

    #[test]
    fn noise_with_many_ff_bytes_is_stuffed_and_decodes() {
        // Saturated noise makes long codes and 0xFF bytes in the entropy-coded data.
        let mut state = 0x1234_5678u32;
        let rgb: Vec<u8> = (0..64 * 48 * 3)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                (state >> 24) as u8
            })
            .collect();
        let jpeg = encode(&rgb, 64, 48, 100, 72);
        let back = image::load_from_memory_with_format(&jpeg, image::ImageFormat::Jpeg)
            .expect("our JPEG decodes")
            .to_rgb8();
        assert_eq!(back.dimensions(), (64, 48));
    }
}
