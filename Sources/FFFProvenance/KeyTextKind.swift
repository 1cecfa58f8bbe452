#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Names the kind of key text a user gave when it is not the kind expected.
enum PEMKind {
    static func describe(_ text: String, expected: String) -> String {
        let what: String
        if text.contains("-----BEGIN PRIVATE KEY-----") {
            what = "a private key (PKCS#8); give its public key instead (KEY.pub from fffrun keygen, or openssl pkey -in KEY -pubout)"
        } else if text.contains("-----BEGIN PUBLIC KEY-----") {
            what = "a public key; signing needs the private key (-----BEGIN PRIVATE KEY-----)"
        } else if text.contains("-----BEGIN OPENSSH PRIVATE KEY-----") {
            what = "an OpenSSH private key, which is not supported; convert it with ssh-keygen -p -m PKCS8 -f KEY, or give the .pub line to verify"
        } else if text.contains("-----BEGIN RSA") || text.hasPrefix("ssh-rsa") {
            what = "an RSA key; only Ed25519 keys are supported"
        } else if text.contains("-----BEGIN EC ") || text.hasPrefix("ecdsa-") {
            what = "an EC (ECDSA) key; only Ed25519 keys are supported"
        } else if text.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") {
            what = "an encrypted private key; decrypt it first (openssl pkey -in KEY -out PLAIN)"
        } else if text.contains("-----BEGIN CERTIFICATE-----") {
            what = "a certificate, not a key"
        } else if let begin = text.firstRange(of: "-----BEGIN ") {
            what = "a PEM \(text[begin.upperBound...].prefix(while: { $0 != "-" }).prefix(40)) block"
        } else if text.isEmpty {
            what = "empty"
        } else {
            what = "not a PEM or OpenSSH key"
        }
        return "expected \(expected); this is \(what)"
    }

    /// ", an RSA key" and so on when the DER of a PEM names a known algorithm.
    static func algorithmHint(_ pem: String) -> String {
        let body = pem.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
        guard let der = Data(base64Encoded: body).map(Array.init) else { return " (its base64 does not decode)" }
        func has(_ oid: [UInt8]) -> Bool {
            der.count >= oid.count && (0...(der.count - oid.count)).contains { Array(der[$0 ..< $0 + oid.count]) == oid }
        }
        if has([0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01]) { return " (it is an RSA key)" }
        if has([0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01]) { return " (it is an EC key)" }
        if has([0x06, 0x03, 0x2B, 0x65, 0x6E]) { return " (it is an X25519 key, for key agreement, not signing)" }
        if has([0x06, 0x03, 0x2B, 0x65, 0x71]) { return " (it is an Ed448 key)" }
        return ""
    }
}

extension String {
    func trimmingWhitespace() -> String {
        var scalars = Substring(self)
        while let first = scalars.first, first.isWhitespace { scalars.removeFirst() }
        while let last = scalars.last, last.isWhitespace { scalars.removeLast() }
        return String(scalars)
    }
}
