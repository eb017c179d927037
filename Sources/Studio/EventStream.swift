import Foundation
import GenerativeModels
import Hummingbird

/// Work on the models runs on threads of its own, never on the server's event loops: a long
/// sample must not hold up the requests behind it.
func compute<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global(qos: .userInitiated).async {
            continuation.resume(with: Result { try httpError(work) })
        }
    }
}

/// A model's refusal (a TrainingError) is the client's mistake: a 400 with its message.
func httpError<T>(_ work: () throws -> T) throws -> T {
    do { return try work() } catch let error as TrainingError {
        throw HTTPError(.badRequest, message: error.description)
    }
}

/// Where work sends server-sent events; `isCancelled` turns true once the client has gone.
final class EventSink: @unchecked Sendable {
    private let continuation: AsyncStream<ByteBuffer>.Continuation
    private let lock = NSLock()
    private var cancelled = false

    init(_ continuation: AsyncStream<ByteBuffer>.Continuation) { self.continuation = continuation }

    var isCancelled: Bool { lock.withLock { cancelled } }
    func cancel() { lock.withLock { cancelled = true } }

    /// `event: NAME` with one line of JSON as its data.
    func send(_ event: String, _ value: some Encodable) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
        continuation.yield(ByteBuffer(string: "event: \(event)\ndata: \(String(decoding: data, as: UTF8.self))\n\n"))
    }
}

struct ErrorEvent: Encodable { let message: String }

/// A `text/event-stream` response whose events `work` sends from a thread of its own; an error
/// it throws becomes an `error` event, the stream's last.
func eventStream(_ work: @escaping @Sendable (EventSink) throws -> Void) -> Response {
    let (stream, continuation) = AsyncStream<ByteBuffer>.makeStream()
    let sink = EventSink(continuation)
    let body = ResponseBody { writer in
        DispatchQueue.global(qos: .userInitiated).async {
            do { try httpError { try work(sink) } } catch let error as HTTPError {
                sink.send("error", ErrorEvent(message: error.body ?? "\(error.status)"))
            } catch {
                sink.send("error", ErrorEvent(message: "\(error)"))
            }
            continuation.finish()
        }
        do {
            for await buffer in stream { try await writer.write(buffer) }
            if Task.isCancelled { sink.cancel() }
            try await writer.finish(nil)
        } catch {
            sink.cancel()
            throw error
        }
    }
    return Response(
        status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-store"], body: body)
}
