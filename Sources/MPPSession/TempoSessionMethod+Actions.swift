import EVM
import Foundation
import Logging
import MPP

extension TempoSessionMethod {
    /// `open`: checks that the client's transaction opens a channel paying this server in its
    /// currency (and nothing else when the server pays its fee), broadcasts it, reads the channel
    /// from chain and registers it. Opening a channel the server knows again is a no-op.
    func open(_ payload: SessionPayload, merchantAccount: String) async throws(PaymentProblem) -> SessionChannel {
        let id = payload.channelID
        if let known = try? await store.channel(id) {
            return try await load(known.id, descriptor: known.descriptor, merchantAccount: merchantAccount)
        }
        let signed = try transaction(payload)
        let sender: Address
        do {
            sender = try signed.recoverSender()
        } catch {
            throw PaymentProblem(.invalidPayload, detail: "The open transaction's signature is invalid: \(error.message).")
        }
        var opened: (TempoChannelEscrow, Address, TempoChannelDescriptor)?
        for call in signed.transaction.calls {
            guard let to = call.to, let version = configuration.escrows.first(where: { $0.value == to })?.key else { continue }
            guard let descriptor = Self.openDescriptor(call.input, version: version, sender: sender, transaction: signed.transaction) else {
                continue
            }
            opened = (version, to, descriptor)
        }
        guard let opened else {
            throw PaymentProblem(.invalidPayload, detail: "The transaction does not open a channel on this server's escrow.")
        }
        let (version, escrow, descriptor) = opened
        guard descriptor.payee == configuration.recipient, descriptor.token == configuration.token,
            version == .v1 || descriptor.operator == (configuration.operator ?? .zero)
        else {
            throw PaymentProblem(.invalidPayload, detail: "The channel does not pay this server's recipient in its currency.")
        }
        let computed =
            version == .v1
            ? TempoChannelEscrow.v1ChannelID(
                payer: sender, payee: descriptor.payee, token: descriptor.token, salt: descriptor.salt,
                authorizedSigner: descriptor.authorizedSigner, escrow: escrow, chainID: configuration.chainID)
            : descriptor.channelID(escrow: escrow, chainID: configuration.chainID)
        guard computed == id else {
            throw PaymentProblem(.invalidPayload, detail: "channelId is not the id of the channel the transaction opens.")
        }
        try await broadcast(signed, allowed: [escrow])
        do {
            return try await load(id, descriptor: descriptor, merchantAccount: merchantAccount)
        } catch  where error.code == .sessionChannelNotFound {
            throw Self.internalError("The open transaction was mined but the channel cannot be read from the escrow.")
        }
    }

    /// `topUp`: broadcasts the client's top-up (which also cancels a pending close request) and
    /// reads the new deposit from chain.
    func topUp(_ payload: SessionPayload) async throws(PaymentProblem) -> SessionChannel {
        let id = payload.channelID
        let stored: SessionChannel?
        do { stored = try await store.channel(id) } catch { throw Self.internalError("The channel could not be read: \(error).") }
        guard let channel = stored, !channel.closed, !channel.closing else { throw Self.unknown(id) }
        let signed = try transaction(payload)
        let tops = signed.transaction.calls.contains { call in
            guard call.to == channel.escrow else { return false }
            switch channel.version {
            case .v1:
                return Array(call.input.prefix(4)) == ABI.selector("topUp(bytes32,uint128)")
                    && (try? ABI.decode([.bytes32, .uint(bits: 128)], from: call.input.dropFirst(4)))?.first?.bytes32 == id
            case .v2:
                let signature = "topUp(\(SessionChain.descriptorTuple),uint96)"
                guard Array(call.input.prefix(4)) == ABI.selector(signature),
                    let values = try? ABI.decode(TempoChannelDescriptor.abiTypes + [.uint(bits: 96)], from: call.input.dropFirst(4))
                else { return false }
                return TempoChannelDescriptor(abiValues: values).channelID(escrow: channel.escrow, chainID: configuration.chainID) == id
            }
        }
        guard tops else { throw PaymentProblem(.invalidPayload, detail: "The transaction does not top up channel \(id.hex).") }
        try await broadcast(signed, allowed: [channel.escrow])
        cache.drop(id)
        let refreshed = try await refresh(channel)
        cache.drop(id)
        return refreshed
    }

    /// Cooperative close on chain with the highest voucher, capturing `max(spent, settled)` (v1
    /// captures the voucher itself); the rest of the deposit goes back to the payer in the same
    /// transaction. Vouchers are refused from the moment the close begins.
    func close(_ id: Hash32) async throws(PaymentProblem) -> (SessionChannel, Hash32) {
        cache.drop(id)
        let closing: SessionChannel?
        do { closing = try await store.beginClose(id) } catch { throw Self.internalError("The channel could not be closed: \(error).") }
        guard var channel = closing else {
            throw PaymentProblem(.sessionChannelFinalized, detail: "Channel \(id.hex) is already closing or closed.")
        }
        let capture = channel.version == .v1 ? max(channel.accepted, channel.settled) : max(channel.spent, channel.settled)
        do {
            let receipt = try await chain.close(channel, cumulative: channel.accepted, capture: capture, signature: channel.signature)
            try await store.closed(id, captured: capture, asset: configuration.asset, transaction: receipt.transactionHash)
            channel.settled = capture
            channel.spent = max(channel.spent, capture)
            channel.closed = true
            cache.drop(id)
            return (channel, receipt.transactionHash)
        } catch {
            try? await store.abortClose(id)
            logger.error("mpp session close failed", metadata: ["channel": "\(id.hex)", "error": "\(error)"])
            throw Self.internalError("The channel could not be closed on chain: \(error).")
        }
    }

    /// Decodes the payload's transaction: a signed `0x76` transaction the client pays the fee of, or
    /// (pympp's form) a `0x78` fee payer envelope the server co-signs when it sponsors fees.
    func transaction(_ payload: SessionPayload) throws(PaymentProblem) -> SignedTempoTransaction {
        guard let hex = payload.transaction else {
            throw PaymentProblem(.invalidPayload, detail: "transaction is missing.")
        }
        let signed: SignedTempoTransaction
        if hex.lowercased().hasPrefix("0x78") {
            guard let envelope = try? TempoFeePayerEnvelope(rawHex: hex) else {
                throw PaymentProblem(.invalidPayload, detail: "transaction is not a Tempo fee payer envelope (0x78).")
            }
            guard let feePayer = configuration.feePayer else {
                throw PaymentProblem(.invalidPayload, detail: "This server does not pay transaction fees; pay your own.")
            }
            do {
                signed = try envelope.cosigned(by: feePayer, feeToken: configuration.token)
            } catch {
                throw PaymentProblem(.invalidPayload, detail: "The transaction cannot be co-signed: \(error.message).")
            }
        } else {
            guard let decoded = try? SignedTempoTransaction(rawHex: hex),
                decoded.feePayerSignature != nil || !decoded.transaction.isSponsored
            else {
                throw PaymentProblem(.invalidPayload, detail: "transaction is not a signed Tempo (0x76) transaction.")
            }
            signed = decoded
        }
        guard signed.transaction.chainID == configuration.chainID else {
            throw PaymentProblem(.invalidPayload, detail: "The transaction is for chain \(signed.transaction.chainID).")
        }
        return signed
    }

    /// Broadcasts and waits for the receipt. A transaction the server pays the fee of may only call
    /// the escrow and approve the token to it.
    func broadcast(_ signed: SignedTempoTransaction, allowed: Set<Address>) async throws(PaymentProblem) {
        if let feePayer = configuration.feePayer, (try? signed.recoverFeePayer(sender: signed.recoverSender())) == feePayer.address {
            let foreign = signed.transaction.calls.filter { call in
                guard let to = call.to else { return true }
                if allowed.contains(to) { return false }
                return !(to == configuration.token && Array(call.input.prefix(4)) == ABI.selector("approve(address,uint256)"))
            }
            guard foreign.isEmpty else {
                throw PaymentProblem(.invalidPayload, detail: "A sponsored transaction may only call the escrow and approve it.")
            }
        }
        let receipt: Receipt
        do {
            receipt = try await chain.broadcast(signed.rawBytes)
        } catch  where error.code == .rpcError {
            throw PaymentProblem(.verificationFailed, detail: "The chain refused the transaction: \(error.message).")
        } catch {
            throw Self.internalError("The transaction's outcome is unknown: \(error.message).")
        }
        guard receipt.succeeded else {
            throw PaymentProblem(.verificationFailed, detail: "The transaction reverted (\(receipt.transactionHash.hex)).")
        }
    }

    /// The channel an `open` call creates, as the escrow derives it (the payer is the sender; v2
    /// binds the transaction's expiring-nonce hash).
    static func openDescriptor(
        _ input: [UInt8], version: TempoChannelEscrow, sender: Address, transaction: TempoTransaction
    ) -> TempoChannelDescriptor? {
        let arguments = input.dropFirst(4)
        switch version {
        case .v1:
            guard Array(input.prefix(4)) == ABI.selector("open(address,address,uint128,bytes32,address)"),
                let a = try? ABI.decode([.address, .address, .uint(bits: 128), .bytes32, .address], from: arguments)
            else { return nil }
            return TempoChannelDescriptor(
                payer: sender, payee: a[0].address!, operator: .zero, token: a[1].address!, salt: a[3].bytes32!,
                authorizedSigner: a[4].address!, expiringNonceHash: .zero)
        case .v2:
            guard Array(input.prefix(4)) == ABI.selector("open(address,address,address,uint96,bytes32,address)"),
                let a = try? ABI.decode([.address, .address, .address, .uint(bits: 96), .bytes32, .address], from: arguments)
            else { return nil }
            return TempoChannelDescriptor(
                payer: sender, payee: a[0].address!, operator: a[1].address!, token: a[2].address!, salt: a[4].bytes32!,
                authorizedSigner: a[5].address!, expiringNonceHash: Keccak256.hash(transaction.senderPreimage + sender.bytes))
        }
    }
}
