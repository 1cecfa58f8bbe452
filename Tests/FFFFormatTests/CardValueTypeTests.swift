import Testing
@testable import FFFFormat

/// The types of the model card's listed keys, on the spec's own examples and their edges.
@Suite struct CardValueTypeTests {
    func accepts(_ type: CardValueType, _ value: String) -> Bool { type.problem(with: value) == nil }

    @Test func keysAndTheirTypes() {
        #expect(CardValueType.of(key: "license") == .spdx)
        #expect(CardValueType.of(key: "source.sha256") == .sha256)
        #expect(CardValueType.of(key: "metrics.accuracy") == .number)
        #expect(CardValueType.of(key: "metrics.") == nil)  // nothing after the prefix: untyped
        #expect(CardValueType.of(key: "Name") == nil)      // keys compare byte for byte
        #expect(CardValueType.of(key: "x-run") == nil)
        #expect(CardValueType.listedKeys.count == 11)
    }

    @Test func spdx() {
        for valid in ["MIT", "Apache-2.0 OR MIT", "(MIT AND BSD-3-Clause) OR GPL-2.0+",
                      "GPL-2.0-only WITH Classpath-exception-2.0", "LicenseRef-my-license",
                      "MIT OR(BSD-2-Clause)", "MIT  OR  BSD-2-Clause", "DocumentRef-a:LicenseRef-b",
                      "((MIT))", "MIT+ OR BSD"] {
            #expect(accepts(.spdx, valid), "\(valid)")
        }
        for invalid in ["", "MIT OR", "(MIT", "()", "MIT and BSD", "MIT  OR  ", " MIT", "MIT ", "MIT BSD",
                        "+MIT", "MIT WITH X+", "MIT\tOR BSD", "MIT/BSD", "AND", "MIT OR OR BSD",
                        "MIT)", "MIT WITH", "MIT WITH AND", "GPL+X", "MIT++", "é"] {
            #expect(!accepts(.spdx, invalid), "\(invalid)")
        }
        #expect(!accepts(.spdx, String(repeating: "A", count: 1025)))
        #expect(accepts(.spdx, String(repeating: "A", count: 1024)))
    }

    @Test func lineAndText() {
        #expect(accepts(.line, "digits d3 l2 m8 \u{80} é"))
        #expect(!accepts(.line, ""))
        #expect(!accepts(.line, "a\tb") && !accepts(.line, "a\nb") && !accepts(.line, "a\u{7F}"))
        #expect(accepts(.line, String(repeating: "a", count: 1024)) && !accepts(.line, String(repeating: "a", count: 1025)))
        #expect(accepts(.text, "two\nlines\twith a tab"))
        #expect(!accepts(.text, "a\r\nb") && !accepts(.text, "\u{0}") && !accepts(.text, ""))
        #expect(accepts(.text, String(repeating: "a", count: 65536)) && !accepts(.text, String(repeating: "a", count: 65537)))
    }

    @Test func urlShaDateNumber() {
        for valid in ["https://example.org/m.pt", "urn:x", "a+b.c-d:x"] { #expect(accepts(.url, valid), "\(valid)") }
        for invalid in ["example.org/m.pt", "1http://x", "https:", "https://a b", "https://é", "", ":x"] {
            #expect(!accepts(.url, invalid), "\(invalid)")
        }
        let hash = String(repeating: "0123456789abcdef", count: 4)
        #expect(accepts(.sha256, hash))
        #expect(!accepts(.sha256, hash.uppercased()) && !accepts(.sha256, String(hash.dropLast())) && !accepts(.sha256, hash + "0"))
        for valid in ["2024-02-29", "0001-01-01", "9999-12-31", "2000-02-29"] { #expect(accepts(.date, valid), "\(valid)") }
        for invalid in ["2023-02-29", "0000-01-01", "2026-1-01", "2026-12-01T00:00:00Z", "1900-02-29", "2026-13-01", "2026-04-31", "2026-00-10", "2026-01-00"] {
            #expect(!accepts(.date, invalid), "\(invalid)")
        }
        for valid in ["0", "-0", "0.9822", "-1.5e-3", "1E+2", "1e-999", "123456789012345678901234567890"] {
            #expect(accepts(.number, valid), "\(valid)")
        }
        for invalid in ["01", "1.", ".5", "+1", "1e", "NaN", "98%", "1e999", "", "-", "0x10", "1 ", "Infinity", "1e+"] {
            #expect(!accepts(.number, invalid), "\(invalid)")
        }
    }

    @Test func cardInitializerChecks() throws {
        let card = try ModelCard([MetadataEntry(key: "name", value: "digits"), MetadataEntry(key: "x-note", value: "a\u{1}b")])
        #expect(card["name"] == "digits" && card["x-note"] == "a\u{1}b" && card["license"] == nil)
        for bad in [[MetadataEntry(key: "license", value: "MIT and BSD")],
                    [MetadataEntry(key: "a", value: ""), MetadataEntry(key: "a", value: "")],
                    [MetadataEntry(key: "has space", value: "")],
                    [MetadataEntry(key: "date", value: "yesterday")]] {
            #expect(throws: FFFError.self) { try ModelCard(bad) }
        }
        do {
            _ = try ModelCard([MetadataEntry(key: "metrics.accuracy", value: "98%")])
            Issue.record("accepted")
        } catch {
            #expect(error.code == .invalidValue && error.message.contains("metrics.accuracy") && error.message.contains("number"))
        }
    }
}
