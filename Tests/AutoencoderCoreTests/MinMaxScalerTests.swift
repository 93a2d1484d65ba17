import Testing
@testable import AutoencoderCore

@Suite struct MinMaxScalerTests {
    @Test func fitsAndTransformsLikeScikitLearn() {
        // Columns: ordinary, constant, negative.
        let values: [Double] = [1, 5, -2,
                                3, 5, -4,
                                2, 5, -3]
        let s = MinMaxScaler(fitting: values, columns: 3)
        #expect(s.scale == [0.5, 1, 0.5])          // constant column: range 0 → 1 (sklearn _handle_zeros_in_scale)
        #expect(s.min == [-0.5, -5, 2])
        #expect(s.transform(values) == [0, 0, 1, 1, 0, 0, 0.5, 0, 0.5])
    }

    @Test func laterDataIsNotClipped() {
        let s = MinMaxScaler(fitting: [0, 10, 10, 10], columns: 2)
        // Column 1 was constant (10): 12 maps to 12 − 10 = 2, as scikit-learn gives.
        #expect(s.transform([20, 12, -10, 10]) == [2, 2, -1, 0])
    }

    @Test func inverseRecoversRawUnits() {
        let s = MinMaxScaler(fitting: [60, 0.5, 1500, 0.25], columns: 2)
        let scaled = s.transform([700, 0.3])
        #expect(abs(s.inverse(scaled[0], column: 0) - 700) < 1e-3)
        #expect(abs(s.inverse(scaled[1], column: 1) - 0.3) < 1e-6)
    }

    @Test func singleRowFitsAsConstant() {
        let s = MinMaxScaler(fitting: [3, -1], columns: 2)
        #expect(s.transform([3, -1]) == [0, 0])
    }
}
