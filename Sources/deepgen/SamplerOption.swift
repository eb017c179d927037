import ArgumentParser
import GenerativeModels

/// `deepgen sample --sampler cached|naive`.
extension PixelSampler: ExpressibleByArgument {}
