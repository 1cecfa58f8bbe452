import Testing
@testable import FFFRecords

@Suite struct NPYHeaderTests {
    func parse(_ bytes: [UInt8]) throws(RecordError) -> NPYHeader {
        try bytes.withUnsafeBytes { b in Result { () throws(RecordError) in try NPYHeader.parse(b) } }.get()
    }

    @Test func whatNumPyWrites() throws {
        // np.save of np.zeros((10000, 784), np.float32), header as NumPy 1.x writes it.
        let h = try parse(Encode.npy(descr: "<f4", shape: [10_000, 784], data: []))
        #expect(h.shape == [10_000, 784] && h.element == .f32 && h.length == 128)
        let v3 = try parse(Encode.npy(descr: "|u1", shape: [5], data: [], version: 3))
        #expect(v3.shape == [5] && v3.element == .u8 && v3.length % 64 == 0)
        let spaced = try parse(Encode.npy(descr: "", shape: [], data: [],
                                          dict: "{ \"descr\" : \">i2\" ,\n 'shape':(3,4) ,'fortran_order':False}"))
        #expect(spaced.shape == [3, 4] && spaced.element == ElementType(kind: .signed, size: 2, bigEndian: true))
    }

    @Test func describesShapesLikePython() {
        #expect(NPYHeader.describe([3]) == "(3,)")
        #expect(NPYHeader.describe([2, 3]) == "(2, 3)")
    }
}
