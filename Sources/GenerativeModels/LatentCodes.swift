import TensorEngine

// Every latent model's codes and decoder, for the studio (LatentDecoding, ClusterSampling).

extension VAE: LatentDecoding {
    public func codes(count: Int, generator: inout RandomGenerator) -> Tensor {
        Tensor.normal([count, options.latentDimension], generator: &generator)
    }
    public func decode(codes: Tensor) -> Tensor { images(decode(codes)).reshaped([-1] + imageShape) }
    public var codeSpread: (centre: [Float], deviation: [Float]) {
        ([Float](repeating: 0, count: latentDimension), [Float](repeating: 1, count: latentDimension))
    }
}

/// Codes from the Gaussian fitted to the training codes: N(0, I) is not what it learnt to decode.
extension Autoencoder: LatentDecoding {
    public var latentDimension: Int { options.latentDimension }
    public func codes(count: Int, generator: inout RandomGenerator) -> Tensor {
        codes(count: count, prior: .fitted, generator: &generator)
    }
    public func decode(codes: Tensor) -> Tensor { output(decoder(codes)).reshaped([-1] + imageShape) }
    public var codeSpread: (centre: [Float], deviation: [Float]) {
        (codeMean.value.scalars, codeVariance.value.sqrt().scalars)
    }
}

/// Coordinates on the principal components, each with its explained variance.
extension PCAModel: LatentDecoding {
    public var latentDimension: Int { options.components }
    public func codes(count: Int, generator: inout RandomGenerator) -> Tensor {
        Tensor.normal([count, options.components], generator: &generator) * explainedVariance.value.sqrt()
    }
    public func decode(codes: Tensor) -> Tensor {
        pca.decode(codes).clamped(min: 0, max: 1).reshaped([-1] + imageShape)
    }
    public var codeSpread: (centre: [Float], deviation: [Float]) {
        ([Float](repeating: 0, count: latentDimension), explainedVariance.value.sqrt().scalars)
    }
}

/// Codes of the mixture prior; its spread is the mixture's own: mean sum_c pi_c mu_c and
/// variance sum_c pi_c (sigma_c^2 + mu_c^2) - mean^2 per dimension.
extension VaDE: LatentDecoding, ClusterSampling {
    public var latentDimension: Int { options.latentDimension }
    public var clusterCount: Int { options.clusters }
    public func codes(count: Int, generator: inout RandomGenerator) -> Tensor {
        // c from pi, then z from N(mu_c, sigma_c^2).
        let cumulative = prior.weights.scalars.reduce(into: [Float]()) { $0.append(($0.last ?? 0) + $1) }
        let picks = (0..<count).map { _ -> Int in
            let u = generator.nextUniform() * (cumulative.last ?? 1)
            return cumulative.firstIndex { u < $0 } ?? (cumulative.count - 1)
        }
        return codes(clusters: picks, generator: &generator)
    }
    public func decode(codes: Tensor) -> Tensor { decoder(codes).sigmoid().reshaped([-1] + imageShape) }
    public var codeSpread: (centre: [Float], deviation: [Float]) {
        let pi = prior.weights.unsqueezed(1), mu = priorMeans.value
        let mean = (pi * mu).sum(alongAxis: 0)
        let secondMoment = (pi * (priorLogVariances.value.exp() + mu.squared())).sum(alongAxis: 0)
        return (mean.scalars, (secondMoment - mean.squared()).clamped(min: 0, max: .infinity).sqrt().scalars)
    }
}

extension GAN: LatentDecoding {
    public var latentDimension: Int { options.latentDimension }
    public func codes(count: Int, generator: inout RandomGenerator) -> Tensor { noise(count, generator: &generator) }
    public func decode(codes: Tensor) -> Tensor { ((draw(codes) + 1) * 0.5).reshaped([-1] + imageShape) }
    public var codeSpread: (centre: [Float], deviation: [Float]) {
        ([Float](repeating: 0, count: latentDimension), [Float](repeating: 1, count: latentDimension))
    }
}

/// Codes z of the mapping network's input, drawn with the run's truncation and fixed noise.
extension StyleGAN: LatentDecoding {
    public var latentDimension: Int { options.generator.latentDimension }
    public func codes(count: Int, generator: inout RandomGenerator) -> Tensor {
        Tensor.normal([count, latentDimension], generator: &generator)
    }
    public func decode(codes: Tensor) -> Tensor { image(styles: styles(of: codes, psi: truncation)) }
    public var codeSpread: (centre: [Float], deviation: [Float]) {
        ([Float](repeating: 0, count: latentDimension), [Float](repeating: 1, count: latentDimension))
    }
    public func styles(of codes: Tensor, psi: Float) -> Tensor {
        averaged.broadcast(averaged.truncated(averaged.map(codes), psi: psi))
    }
    public func image(styles: Tensor) -> Tensor {
        var fixed: RandomGenerator? = nil
        return ((averaged.synthesize(styles, noise: &fixed) + 1) * 0.5).clamped(min: 0, max: 1)
    }
}
