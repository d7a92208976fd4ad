import EVM
import Foundation
import Ledger
import Logging
import MPP
import RailKit

/// `tempo/charge`: one TIP-20 transfer per request, on a Tempo chain (spec
/// `draft-tempo-charge-00`, pympp `mpp.methods.tempo`).
///
/// - **pull** (`{"type":"transaction","signature":"0x76…"}`): the client's signed Tempo
///   transaction. Its calls must be exactly the offer's transfers (a `transferWithMemo` to the
///   recipient whose memo is bound to this challenge and realm, and one per split), its chain the
///   configured one, its validity not over. The proof (the transaction's hash) and the challenge are
///   reserved, then the server broadcasts it with `eth_sendRawTransactionSync` (co-signing as fee
///   payer when the offer sponsors the fee and the client sent a `0x78` envelope) and checks the
///   receipt's logs.
/// - **push** (`{"type":"hash","hash":"0x…"}`): the client broadcast it; the server reads the receipt
///   (not with a sponsored fee: the server never paid for it).
///
/// Paid, the recipient's part is booked (`charge`: debit `tempo:{asset}:incoming:{recipient}`,
/// credit the route's merchant account): the Tempo rail credits the same incoming account when it
/// sees the transfer on chain, so the clearing account returns to zero once both sides are booked.
public struct TempoChargeMethod: MPPMethod {
    public var method: String { "tempo" }
    public var intent: String { "charge" }
    public let configuration: TempoChargeConfiguration

    public init(configuration: TempoChargeConfiguration) {
        self.configuration = configuration
    }

    /// An offer of this method for `charge`.
    /// - Throws: ``TempoChargeError`` when the currency is not configured or the terms break the rules.
    public func offer(_ charge: TempoCharge, description: String? = nil) throws(TempoChargeError) -> MPPOffer {
        guard configuration.currencies[charge.currency] != nil else {
            throw TempoChargeError(.unknownCurrency, "\(charge.currency.checksummed) is not a configured currency")
        }
        guard !charge.feePayer || configuration.feePayer != nil else {
            throw TempoChargeError(.invalidTerms, "a sponsored fee needs the method's fee payer key")
        }
        return MPPOffer(method: self, request: try charge.request(chainID: configuration.chainID), description: description)
    }

    public func pay(_ payment: MPPPayment) async throws(PaymentProblem) -> MPPPaid {
        let challengeID = payment.challenge.id
        let terms = try TempoChargeTerms(request: payment.request, challengeID: challengeID)
        guard payment.servesContent else {
            throw PaymentProblem(.badRequest, detail: "A charge pays for content: send the request with GET.", challengeId: challengeID)
        }
        switch payment.payload["type"]?.stringValue {
        case "transaction":
            guard let text = payment.payload["signature"]?.stringValue else {
                throw PaymentProblem(.invalidPayload, detail: "A transaction payload needs its signature.", challengeId: challengeID)
            }
            return try await pull(text, terms: terms, payment: payment)
        case "hash":
            guard let text = payment.payload["hash"]?.stringValue, let hash = try? Hash32(hex: text), text.hasPrefix("0x") else {
                throw PaymentProblem(.invalidPayload, detail: "A hash payload needs a 32-byte 0x hash.", challengeId: challengeID)
            }
            guard !terms.charge.feePayer else {
                throw PaymentProblem(
                    .verificationFailed, detail: "This offer sponsors the fee: send the signed transaction, not a hash.",
                    challengeId: challengeID)
            }
            return try await push(hash, terms: terms, payment: payment)
        default:
            throw PaymentProblem(
                .invalidPayload, detail: "The payload type must be \"transaction\" or \"hash\".", challengeId: challengeID)
        }
    }

    // MARK: Pull

    private func pull(_ text: String, terms: TempoChargeTerms, payment: MPPPayment) async throws(PaymentProblem) -> MPPPaid {
        let challengeID = payment.challenge.id
        func refuse(_ detail: String) -> PaymentProblem { PaymentProblem(.verificationFailed, detail: detail, challengeId: challengeID) }
        guard text.hasPrefix("0x"), let raw = try? Hex.decode(text), let kind = raw.first else {
            throw PaymentProblem(.invalidPayload, detail: "The transaction is not 0x-prefixed hex.", challengeId: challengeID)
        }
        let transaction: TempoTransaction
        let sender: Address
        var broadcast: SignedTempoTransaction
        do {
            switch kind {
            case TempoTransaction.feePayerTypeByte:
                guard terms.charge.feePayer, let key = configuration.feePayer else {
                    throw refuse("This offer does not sponsor the fee: send a 0x76 transaction.")
                }
                let envelope = try TempoFeePayerEnvelope(raw: raw)
                transaction = envelope.transaction
                sender = try envelope.signed.recoverSender()
                guard sender == envelope.sender else { throw refuse("The envelope's sender is not the transaction's signer.") }
                try checkValidity(transaction, minimumLeft: configuration.sponsoredValidity, challengeID: challengeID)
                broadcast = try envelope.cosigned(by: key, feeToken: terms.charge.currency)
            case TempoTransaction.typeByte:
                let signed = try SignedTempoTransaction(raw: raw)
                transaction = signed.transaction
                sender = try signed.recoverSender()
                try checkValidity(transaction, minimumLeft: .zero, challengeID: challengeID)
                broadcast = signed
            default:
                throw PaymentProblem(.invalidPayload, detail: "Not a Tempo transaction (0x76 or 0x78).", challengeId: challengeID)
            }
        } catch let problem as PaymentProblem {
            throw problem
        } catch {
            throw PaymentProblem(.invalidPayload, detail: "The transaction does not decode: \(error).", challengeId: challengeID)
        }
        guard transaction.chainID == configuration.chainID else {
            throw refuse("The transaction is for chain \(transaction.chainID), not \(configuration.chainID).")
        }
        try checkSource(payment.credential.source, payer: sender, challengeID: challengeID)
        if let problem = terms.matchCalls(transaction.calls, realm: payment.challenge.realm) { throw refuse(problem) }
        let hash = broadcast.hash
        let proof = Self.proof(hash)
        try await payment.proofs.reserve(proof: proof, challengeID: challengeID, method: method, intent: intent)
        let receipt: Receipt
        do {
            receipt = try await configuration.rpc.request(
                "eth_sendRawTransactionSync",
                [.data(broadcast.rawBytes), .number(Double(configuration.broadcastTimeout.components.seconds * 1000))], as: Receipt.self)
        } catch let error where error.code == .rpcError {
            // The node refused it: nothing was included, the client may pay again.
            if let included = try? await configuration.rpc.transactionReceipt(hash) {
                return try await paid(included, hash: hash, sender: sender, terms: terms, payment: payment, proof: proof)
            }
            await payment.proofs.release(proof: proof)
            throw refuse("The chain refused the transaction: \(error.message).")
        } catch {
            if let included = try? await configuration.rpc.transactionReceipt(hash) {
                return try await paid(included, hash: hash, sender: sender, terms: terms, payment: payment, proof: proof)
            }
            configuration.logger.error("tempo charge outcome unknown", metadata: ["tx": "\(hash.hex)", "error": "\(error)"])
            throw PaymentProblem(
                .internalPaymentError, detail: "The transaction \(hash.hex) was sent but its outcome is unknown; do not pay again.",
                challengeId: challengeID)
        }
        return try await paid(receipt, hash: hash, sender: sender, terms: terms, payment: payment, proof: proof)
    }

    // MARK: Push

    private func push(_ hash: Hash32, terms: TempoChargeTerms, payment: MPPPayment) async throws(PaymentProblem) -> MPPPaid {
        let challengeID = payment.challenge.id
        let proof = Self.proof(hash)
        try await payment.proofs.reserve(proof: proof, challengeID: challengeID, method: method, intent: intent)
        let receipt: Receipt?
        do {
            receipt = try await configuration.rpc.transactionReceipt(hash)
        } catch {
            await payment.proofs.release(proof: proof)
            configuration.logger.error("tempo receipt not read", metadata: ["tx": "\(hash.hex)", "error": "\(error)"])
            throw PaymentProblem(.internalPaymentError, detail: "The chain could not be read; retry later.", challengeId: challengeID)
        }
        guard let receipt else {
            await payment.proofs.release(proof: proof)
            throw PaymentProblem(.verificationFailed, detail: "Transaction \(hash.hex) is not on chain.", challengeId: challengeID)
        }
        do {
            try checkSource(payment.credential.source, payer: receipt.from, challengeID: challengeID)
        } catch {
            await payment.proofs.release(proof: proof)
            throw error
        }
        return try await paid(receipt, hash: hash, sender: receipt.from, terms: terms, payment: payment, proof: proof)
    }

    // MARK: Paid

    private func paid(
        _ receipt: Receipt, hash: Hash32, sender: Address, terms: TempoChargeTerms, payment: MPPPayment, proof: String
    ) async throws(PaymentProblem) -> MPPPaid {
        let challengeID = payment.challenge.id
        guard receipt.transactionHash == hash else {
            throw PaymentProblem(.verificationFailed, detail: "The receipt is for another transaction.", challengeId: challengeID)
        }
        guard receipt.succeeded else {
            throw PaymentProblem(.verificationFailed, detail: "Transaction \(hash.hex) reverted.", challengeId: challengeID)
        }
        if let problem = terms.matchLogs(receipt.logs, from: sender, realm: payment.challenge.realm) {
            throw PaymentProblem(.verificationFailed, detail: problem, challengeId: challengeID)
        }
        let now = configuration.now()
        do {
            try await payment.proofs.settled(proof: proof, reference: hash.hex)
        } catch {
            // Paid on chain: the reservation keeps the proof single-use either way.
            configuration.logger.error("mpp proof not marked settled", metadata: ["tx": "\(hash.hex)", "error": "\(error)"])
        }
        await book(hash: hash, sender: sender, terms: terms, payment: payment, at: now)
        let mppReceipt = PaymentReceipt(
            method: method, timestamp: ChallengeExpiry.format(now), reference: hash.hex, externalId: terms.charge.externalId,
            fundingCurrency: terms.charge.currency.lowercased)
        return .serve(mppReceipt)
    }

    private func book(hash: Hash32, sender: Address, terms: TempoChargeTerms, payment: MPPPayment, at time: Date) async {
        guard let booker = configuration.booker, let asset = configuration.currencies[terms.charge.currency],
            let amount = Ledger.UInt256(bigEndianBytes: terms.charge.primaryAmount.bigEndianBytes)
        else { return }
        let memo = AttributionMemo.encode(challengeID: payment.challenge.id, realm: payment.challenge.realm)
        let event = RailEvent(
            transition: "charge", reference: "eip155:\(configuration.chainID)/\(hash.hex)", parentReference: memo.hex, asset: asset,
            amounts: ["amount": amount],
            bindings: ["recipient": terms.charge.recipient.lowercased, "merchant": payment.merchantAccount], occurredAt: time,
            metadata: [
                "payer": .string(sender.lowercased), "challenge": .string(payment.challenge.id), "route": .string(payment.scope),
            ])
        do {
            try await booker.install(configuration.descriptor)
            let outcomes = try await booker.book([event], on: configuration.descriptor)
            let failed = outcomes.filter { !$0.isBooked }
            if !failed.isEmpty {
                configuration.logger.error("tempo charge not booked", metadata: ["tx": "\(hash.hex)", "outcome": "\(failed)"])
            }
        } catch {
            // Paid and served: the Tempo rail still books the chain side, and reconciliation reports
            // the missing revenue transfer by its reference.
            configuration.logger.error("tempo charge not booked", metadata: ["tx": "\(hash.hex)", "error": "\(error)"])
        }
    }

    // MARK: Checks

    private func checkValidity(_ transaction: TempoTransaction, minimumLeft: Duration, challengeID: String) throws(PaymentProblem) {
        guard let validBefore = transaction.validBefore else { return }
        let now = configuration.now().timeIntervalSince1970
        guard Double(validBefore) > now + Double(minimumLeft.components.seconds) else {
            throw PaymentProblem(
                .verificationFailed,
                detail: minimumLeft == .zero
                    ? "The transaction's validity has ended." : "The transaction expires too soon to be sponsored.",
                challengeId: challengeID)
        }
    }

    private func checkSource(_ source: String?, payer: Address, challengeID: String) throws(PaymentProblem) {
        guard let source else { return }
        let expected = "did:pkh:eip155:\(configuration.chainID):\(payer.lowercased)"
        guard source.lowercased() == expected else {
            throw PaymentProblem(.verificationFailed, detail: "The credential's source is not the payer.", challengeId: challengeID)
        }
    }

    static func proof(_ hash: Hash32) -> String { "tempo:" + hash.hex }
}
