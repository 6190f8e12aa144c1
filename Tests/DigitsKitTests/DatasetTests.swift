// Image/label pairs as a dataset: layout, counts and label range are checked; the real MNIST
// files load with the right counts and the pixel checksums computed independently (Python's
// gzip and zlib.crc32 over the decompressed payloads).
import CZlib
import Testing
@_spi(Tools) @testable import DigitsKit
@testable import DigitsPresentation

@Suite struct DatasetTests {
    static func images(_ count: Int) -> IDXArray {
        IDXArray(shape: [count, 2, 2], values: .ubyte((0..<count * 4).map { UInt8($0 % 256) }))
    }

    static func labels(_ values: [UInt8]) -> IDXArray {
        IDXArray(shape: [values.count], values: .ubyte(values))
    }

    @Test func validPair() throws {
        let dataset = try DigitDataset(images: Self.images(3), imagesPath: "i", labels: Self.labels([0, 9, 3]), labelsPath: "l")
        #expect(dataset.count == 3 && dataset.rows == 2 && dataset.columns == 2)
        #expect(dataset.image(at: 1).pixels == [4, 5, 6, 7])
        #expect(dataset.labelHistogram() == [1, 0, 0, 1, 0, 0, 0, 0, 0, 1])
    }

    @Test func labelOutsideDigits() {
        #expect(throws: DatasetError.labelOutOfRange(path: "l", index: 2, value: 12, classes: 10)) {
            try DigitDataset(images: Self.images(3), imagesPath: "i", labels: Self.labels([1, 2, 12]), labelsPath: "l")
        }
    }

    @Test func countsDiffer() {
        #expect(throws: DatasetError.countMismatch(imagesPath: "i", images: 3, labelsPath: "l", labels: 2)) {
            try DigitDataset(images: Self.images(3), imagesPath: "i", labels: Self.labels([1, 2]), labelsPath: "l")
        }
    }

    @Test func wrongLayouts() {
        #expect(throws: DatasetError.wrongImageLayout(path: "i", shape: [3, 4], type: .ubyte)) {
            try DigitDataset(images: IDXArray(shape: [3, 4], values: .ubyte(Array(repeating: 0, count: 12))),
                             imagesPath: "i", labels: Self.labels([1, 2, 3]), labelsPath: "l")
        }
        #expect(throws: DatasetError.wrongLabelLayout(path: "l", shape: [3], type: .int)) {
            try DigitDataset(images: Self.images(3), imagesPath: "i",
                             labels: IDXArray(shape: [3], values: .int([1, 2, 3])), labelsPath: "l")
        }
        // Swapped files: labels passed as images.
        #expect(throws: DatasetError.wrongImageLayout(path: "l", shape: [3], type: .ubyte)) {
            try DigitDataset(images: Self.labels([1, 2, 3]), imagesPath: "l", labels: Self.images(3), labelsPath: "i")
        }
    }

    @Test func pixelStatistics() throws {
        let images = IDXArray(shape: [1, 1, 4], values: .ubyte([0, 0, 255, 255]))
        let dataset = try DigitDataset(images: images, imagesPath: "i", labels: Self.labels([0]), labelsPath: "l")
        let (mean, deviation) = dataset.pixelStatistics()
        #expect(mean == 127.5 && deviation == 127.5)
    }

    @Test func missingDirectoryNamesWhatWasTried() {
        #expect(throws: DatasetError.missingFiles(directory: "/nonexistent", split: "test",
                                                  tried: MNISTSplit.test.candidateNames(kind: "images"))) {
            try MNIST.load(from: "/nonexistent", split: .test)
        }
    }

    @Test func findsUnpackedFilesToo() throws {
        let directory = TestFiles.scratchDirectory()
        try Self.images(2).write(to: "\(directory)/t10k-images-idx3-ubyte", compressed: false)
        try Self.labels([4, 2]).write(to: "\(directory)/t10k-labels.idx1-ubyte", compressed: false)
        let dataset = try MNIST.load(from: directory, split: .test)
        #expect(dataset.labels == [4, 2])
    }

    // MARK: The real MNIST

    static let mnistCases: [(MNISTSplit, count: Int, pixelSum: UInt64, pixelCRC: UInt32, labelCRC: UInt32, firstLabels: [UInt8])] = [
        (.train, 60_000, 1_567_298_545, 0xf363_9b56, 0xba07_e8ef, [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]),
        (.test, 10_000, 264_923_200, 0xe4ca_5f57, 0xee86_04d9, [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]),
    ]

    @Test(arguments: mnistCases)
    func realMNIST(split: MNISTSplit, count: Int, pixelSum: UInt64, pixelCRC: UInt32, labelCRC: UInt32, firstLabels: [UInt8]) throws {
        guard let directory = TestFiles.mnist else {
            Issue.record("MNIST not found: run scripts/fetch-mnist, or set DIGITS_MNIST_DIR")
            return
        }
        let dataset = try MNIST.load(from: directory, split: split)
        #expect(dataset.count == count)
        #expect(dataset.rows == 28 && dataset.columns == 28)
        #expect(dataset.pixels.reduce(UInt64(0)) { $0 + UInt64($1) } == pixelSum)
        #expect(dataset.pixels.withUnsafeBufferPointer { UInt32(crc32(0, $0.baseAddress, uInt($0.count))) } == pixelCRC)
        #expect(dataset.labels.withUnsafeBufferPointer { UInt32(crc32(0, $0.baseAddress, uInt($0.count))) } == labelCRC)
        #expect(Array(dataset.labels.prefix(10)) == firstLabels)
    }
}

@Suite struct DigitGridTests {
    @Test func drawsEachDigitAtItsCell() throws {
        // Two 2×2 images: the first all ink, the second all background.
        let images = IDXArray(shape: [2, 2, 2], values: .ubyte([255, 255, 255, 255, 0, 0, 0, 0]))
        let dataset = try DigitDataset(images: images, imagesPath: "i", labels: DatasetTests.labels([3, 8]), labelsPath: "l")
        let canvas = try DigitGrid.render(dataset, indices: [0, 1], columns: 2, scale: 3, path: "g.png")
        // Cells start after a 6-pixel gap; the digit is centred in a cell at least 48 px wide.
        let cellWidth = (canvas.width - 6) / 2 - 6
        let firstDigitX = 6 + (cellWidth - 6) / 2  // the 2×2 image drawn 3× is 6 px wide
        for dx in 0..<6 {
            #expect(canvas[firstDigitX + dx, 6] == .white)                    // ink, first cell
            #expect(canvas[firstDigitX + cellWidth + 6 + dx, 6] == .black)     // background, second cell
        }
        #expect(canvas[firstDigitX - 1, 6] == .black)  // nothing drawn left of the digit
    }

    @Test func refusesEmptyAndHugePictures() throws {
        let empty = try DigitDataset(images: IDXArray(shape: [0, 28, 28], values: .ubyte([])), imagesPath: "i",
                                     labels: DatasetTests.labels([]), labelsPath: "l")
        #expect(throws: PictureError.nothingToDraw(path: "i")) { try DigitGrid.render(empty, indices: [], path: "g.png") }

        let wide = try DigitDataset(images: IDXArray(shape: [1, 1, 20_000], values: .ubyte(Array(repeating: 1, count: 20_000))),
                                    imagesPath: "i", labels: DatasetTests.labels([1]), labelsPath: "l")
        #expect(throws: PictureError.self) { try DigitGrid.render(wide, indices: [0], scale: 1000, path: "g.png") }
    }
}
