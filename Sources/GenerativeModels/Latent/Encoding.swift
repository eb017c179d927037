import NeuralNetwork
import TensorEngine

/// A model with a deterministic code for each image: what `deepgen latent` plots.
public protocol Encoding {
    /// Codes [N, m] of images [N, C, H, W]: projections (PCA), bottlenecks (autoencoders) or
    /// posterior means (VAE, IWAE, VaDE).
    func codes(_ images: Tensor) -> Tensor
}

extension PCAModel: Encoding {
    public func codes(_ images: Tensor) -> Tensor { pca.encode(images.flattened()) }
}

extension Autoencoder: Encoding {
    public func codes(_ images: Tensor) -> Tensor { encode(images) }

    /// For a linear autoencoder: the decoder's image of the latent space, as m rows [m, D]
    /// (decode(e_i) - decode(0)) spanning the subspace its reconstructions lie in.
    public func decoderSubspace() -> Tensor {
        precondition(options.linear, "decoderSubspace: only a linear decoder has a linear image")
        let m = options.latentDimension
        let basis = Tensor.concatenate([Tensor.zeros([1, m]), Tensor.oneHot(Array(0..<m), classes: m)], axis: 0)
        let images = decoder(basis).flattened()
        return images.sliced(axis: 0, 1..<(m + 1)) - images.sliced(axis: 0, 0..<1)
    }
}

extension VAE: Encoding {
    public func codes(_ images: Tensor) -> Tensor { encode(images.flattened()).mean }
}

extension VaDE: Encoding {
    public func codes(_ images: Tensor) -> Tensor { encode(images.flattened()).mean }
}
