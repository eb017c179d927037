import Foundation

/// Vectorised transcendentals on 16 lanes. The C library's scalar functions run one value at a
/// time; these run at memory speed. Polynomials after Cephes (S. Moshier), accurate to a few ulp
/// over the float range.
public typealias Vec = SIMD16<Float>
@usableFromInline typealias IVec = SIMD16<Int32>

@inlinable @inline(__always) func bits(_ v: Vec) -> IVec { unsafeBitCast(v, to: IVec.self) }
@inlinable @inline(__always) func float(bits v: IVec) -> Vec { unsafeBitCast(v, to: Vec.self) }

// The standard library's conversions between float and integer vectors go element by element;
// these use the 1.5 * 2^23 trick instead, exact for whole numbers below 2^22 in magnitude.
@usableFromInline let magic: Float = 12_582_912
@inlinable @inline(__always) func integers(_ wholeNumbers: Vec) -> IVec {
    bits(wholeNumbers + magic) &- bits(Vec(repeating: magic))
}
@inlinable @inline(__always) func floats(_ v: IVec) -> Vec { float(bits: v &+ bits(Vec(repeating: magic))) - magic }
/// Round to nearest (ties to even), for |v| < 2^22: the addition rounds away the fraction.
@inlinable @inline(__always) func roundedToNearest(_ v: Vec) -> Vec { (v + magic) - magic }
/// Lane-wise larger and smaller of two vectors, as selects: the standard library's
/// pointwiseMax and pointwiseMin compile to a loop over the 16 lanes (perf found concat_elu
/// spending 42% of a PixelCNN++ step in that loop).
@inlinable @inline(__always) public func vmax(_ a: Vec, _ b: Vec) -> Vec { a.replacing(with: b, where: b .> a) }
@inlinable @inline(__always) func vmin(_ a: Vec, _ b: Vec) -> Vec { a.replacing(with: b, where: b .< a) }
@inlinable @inline(__always) func clamp(_ v: Vec, _ lower: Float, _ upper: Float) -> Vec {
    v.replacing(with: lower, where: v .< lower).replacing(with: upper, where: v .> upper)
}

@inlinable @inline(__always) public func vexp(_ x: Vec) -> Vec {
    // e^x = 2^n * e^r with r = x - n ln 2, |r| <= ln2/2; ln 2 split in two for an exact product.
    let clamped = clamp(x, -87.33654, 88.72283)
    let n = roundedToNearest(clamped * 1.44269504088896341)
    let r = clamped - n * 0.693359375 + n * 2.12194440e-4
    var p = Vec(repeating: 1.9875691500e-4)
    p = p * r + 1.3981999507e-3
    p = p * r + 8.3334519073e-3
    p = p * r + 4.1665795894e-2
    p = p * r + 1.6666665459e-1
    p = p * r + 5.0000001201e-1
    let er = p * r * r + r + 1
    let scale = float(bits: (integers(n) &+ 127) &<< 23)
    var y = er * scale
    y.replace(with: 0, where: x .< -87.33654)
    y.replace(with: .infinity, where: x .> 88.72283)
    y.replace(with: x, where: x .!= x) // NaN stays NaN
    return y
}

@inlinable @inline(__always) public func vlog(_ x: Vec) -> Vec {
    // x = m * 2^e with m in [sqrt(1/2), sqrt(2)); log x = e ln 2 + log1p(m - 1) by a polynomial.
    let xb = bits(x)
    var e = ((xb &>> 23) & 0xff) &- 126
    var m = float(bits: (xb & 0x007f_ffff) | 0x3f00_0000) // in [0.5, 1)
    let small = m .< 0.707106781186547524
    e.replace(with: e &- 1, where: small)
    m = m - 1
    m.replace(with: m + m + 1, where: small)
    let z = m * m
    var p = Vec(repeating: 7.0376836292e-2)
    p = p * m - 1.1514610310e-1
    p = p * m + 1.1676998740e-1
    p = p * m - 1.2420140846e-1
    p = p * m + 1.4249322787e-1
    p = p * m - 1.6668057665e-1
    p = p * m + 2.0000714765e-1
    p = p * m - 2.4999993993e-1
    p = p * m + 3.3333331174e-1
    let fe = floats(e)
    var y = p * m * z
    y = y - fe * 2.12194440e-4
    y = y - 0.5 * z
    var result = m + y + fe * 0.693359375
    // Subnormals, zero, negatives, infinity and NaN take the slow but exact route.
    let special = (x .< Float.leastNormalMagnitude) .| (x .>= .infinity) .| (x .!= x)
    if any(special) {
        for i in 0..<16 where special[i] { result[i] = Foundation.log(x[i]) }
    }
    return result
}

@inlinable @inline(__always) func vlog1p(_ x: Vec) -> Vec {
    // log(u) * x / (u - 1) with u = 1 + x cancels the rounding of u (Goldberg's trick).
    let u = x + 1
    let d = u - 1
    var y = vlog(u) * (x / d)
    y.replace(with: x, where: d .== 0)
    y.replace(with: vlog(u), where: u .>= .infinity)
    return y
}

@inlinable @inline(__always) public func vtanh(_ x: Vec) -> Vec {
    let a = vabs(x)
    // Near zero a polynomial keeps the relative accuracy that 1 - 2/(e^2x + 1) loses.
    let z = x * x
    var p = Vec(repeating: -5.70498872745e-3)
    p = p * z + 2.06390887954e-2
    p = p * z - 5.37397155531e-2
    p = p * z + 1.33314422036e-1
    p = p * z - 3.33332819422e-1
    let near = p * z * x + x
    var far = 1 - 2 / (vexp(2 * a) + 1)
    far.replace(with: -far, where: x .< 0)
    var y = far
    y.replace(with: near, where: a .< 0.625)
    return y
}

@inlinable @inline(__always) public func vsigmoid(_ x: Vec) -> Vec { 1 / (1 + vexp(-x)) }

@inlinable @inline(__always) public func vsoftplus(_ x: Vec) -> Vec {
    // log(1 + e^x) = max(x, 0) + log1p(e^-|x|): never overflows.
    x.replacing(with: 0, where: x .< 0) + vlog1p(vexp(-vabs(x)))
}

@inline(__always)
func verf(_ x: Vec) -> Vec {
    // |x| < 1: the Maclaurin series to x^23 (relative error below 1e-7, where a fixed absolute
    // error would be a large relative one). Beyond: Abramowitz & Stegun 7.1.26, absolute error
    // below 1.5e-7 on values above 0.84.
    let z = x * x
    var s = Vec(repeating: -1.2290555301717926e-09)
    s = s * z + 1.4807192815879218e-08
    s = s * z - 1.6365844691234924e-07
    s = s * z + 1.6462114365889246e-06
    s = s * z - 1.492565035840625e-05
    s = s * z + 1.2055332981789664e-04
    s = s * z - 8.548327023450852e-04
    s = s * z + 5.223977625442188e-03
    s = s * z - 2.6866170645131252e-02
    s = s * z + 1.1283791670955126e-01
    s = s * z - 3.7612638903183754e-01
    s = s * z + 1.1283791670955126
    let series = s * x
    let a = vabs(x)
    let t = 1 / (1 + 0.3275911 * a)
    var p = Vec(repeating: 1.061405429)
    p = p * t - 1.453152027
    p = p * t + 1.421413741
    p = p * t - 0.284496736
    p = p * t + 0.254829592
    var tail = 1 - p * t * vexp(-z)
    tail.replace(with: -tail, where: x .< 0)
    return tail.replacing(with: series, where: a .< 1)
}

/// sin and cos together, after Cephes sinf/cosf: reduce by multiples of pi/4 in three parts.
@inline(__always)
func vsincos(_ x: Vec) -> (sin: Vec, cos: Vec) {
    let a = vabs(x)
    let scaled = a * 1.27323954473516
    var whole = roundedToNearest(scaled)
    whole.replace(with: whole - 1, where: whole .> scaled) // floor, as a is not negative
    var j = integers(whole)
    j = (j &+ 1) & ~1
    let y = floats(j)
    let r = ((a - y * 0.78515625) - y * 2.4187564849853515625e-4) - y * 3.77489497744594108e-8
    let z = r * r
    var s = Vec(repeating: -1.9515295891e-4)
    s = s * z + 8.3321608736e-3
    s = s * z - 1.6666654611e-1
    s = s * z * r + r
    var c = Vec(repeating: 2.443315711809948e-5)
    c = c * z - 1.388731625493765e-3
    c = c * z + 4.166664568298827e-2
    c = c * z * z - 0.5 * z + 1
    let swap = (j & 2) .!= 0
    var sinV = s.replacing(with: c, where: swap)
    var cosV = c.replacing(with: s, where: swap)
    let sinNegative = ((j & 4) .!= 0) .^ (x .< 0)
    sinV.replace(with: -sinV, where: sinNegative)
    let cosNegative = ((j &+ 2) & 4) .!= 0
    cosV.replace(with: -cosV, where: cosNegative)
    return (sinV, cosV)
}

@inline(__always)
func vpow(_ x: Vec, _ p: Float) -> Vec {
    if p == 2 { return x * x }
    if p == 1 { return x }
    if p == 0.5 { return x.squareRoot() }
    if p == -1 { return 1 / x }
    if p == 3 { return x * x * x }
    // General exponent: e^(p log|x|), with the sign of odd integer powers of negatives.
    var y = vexp(p * vlog(vabs(x)))
    let isInteger = p.rounded() == p
    if isInteger {
        let odd = Int(p) % 2 != 0
        if odd { y.replace(with: -y, where: x .< 0) }
    } else {
        y.replace(with: .nan, where: x .< 0)
    }
    y.replace(with: p > 0 ? 0 : .infinity, where: x .== 0)
    return y
}

@inlinable @inline(__always) func vabs(_ v: Vec) -> Vec { float(bits: bits(v) & 0x7fff_ffff) }
