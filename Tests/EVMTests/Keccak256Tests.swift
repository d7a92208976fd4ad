import EVM
import Testing

@Suite struct Keccak256Tests {
    @Test(arguments: [
        ("", "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"),
        ("abc", "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45"),
        ("The quick brown fox jumps over the lazy dog", "4d741b6f1eb29cb2a9b9911c82f56fa8d73b04959d3d9d222895df6c0b28aa15"),
    ])
    func publishedVectors(input: String, expected: String) throws {
        #expect(Keccak256.hash(input).hex == "0x" + expected)
        #expect(Keccak256.hash(Array(input.utf8)).hex == "0x" + expected)
    }

    // Lengths around the 136-byte rate, where padding lands in a block of its own or straddles one
    // (references from pycryptodome's Keccak, bytes i % 251).
    @Test(arguments: [
        (135, "cbdfd9dee5faad3818d6b06f95a219fd290b0e1706f6a82e5a595b9ce9faca62"),
        (136, "7ce759f1ab7f9ce437719970c26b0a66ff11fe3e38e17df89cf5d29c7d7f807e"),
        (137, "ac73d4fae68b8453f764007c1a20ce95994187861f0c3227a3a8e99a73a3b1db"),
        (272, "8e2476e65823b24d96ebe239f2c1534cdf763e689e2410c3b1cb0c74e6177bfc"),
        (1000, "af692982e84a5a9688359025660a7857cd28ee7c8d867cfa1677baf2e6d1f63b"),
    ])
    func blockBoundaries(length: Int, expected: String) {
        let input = (0..<length).map { UInt8($0 % 251) }
        #expect(Keccak256.hash(input).hex == "0x" + expected)
    }

    @Test func incrementalUpdatesMatchOneShot() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let input = (0..<Int.random(in: 0...700, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            var hasher = Keccak256()
            var rest = input[...]
            while !rest.isEmpty {
                let take = Int.random(in: 1...min(rest.count, 150), using: &generator)
                hasher.update(rest.prefix(take))
                rest = rest.dropFirst(take)
            }
            #expect(hasher.finalize() == Keccak256.hash(input))
        }
    }

    @Test func isNotSHA3() {
        // FIPS 202 SHA3-256("") is a7ffc6f8…; Ethereum's Keccak-256 must differ.
        #expect(!Keccak256.hash("").hex.hasPrefix("0xa7ffc6f8"))
    }
}
