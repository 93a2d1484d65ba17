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

    @Test func aRangeOfRoundingNoiseCountsAsConstant() {
        // scikit-learn's own test of `_handle_zeros_in_scale`: ranges [0, 1e-16, 1, 2, 3] → [1, 1, 1, 2, 3].
        let ranges: [Double] = [0, 1e-16, 1, 2, 3]
        let s = MinMaxScaler(fitting: [0, 0, 0, 0, 0] + ranges, columns: 5)
        #expect(s.scale == [1, 1, 1, 0.5, 1.0 / 3])
        // A covariance of streams that never crossed (1e-28 noise in training) does not scale a
        // later real value by 1e28: it is shifted, not blown up.
        let noise = MinMaxScaler(fitting: [-2.5e-28, 9.7e-29], columns: 1)
        #expect(noise.scale == [1])
        #expect(abs(noise.transform([2.5e-14])[0]) < 1e-13)
        // Just above 10 ε, a range is a range.
        #expect(MinMaxScaler(fitting: [0, 3e-15], columns: 1).scale == [1 / 3e-15])
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
