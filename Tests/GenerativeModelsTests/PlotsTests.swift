import Datasets
import XCTest
@testable import GenerativeModels

final class PlotsTests: XCTestCase {
    /// Ticks fall on 1, 2 or 5 times a power of ten and cover the data; labels carry the digits
    /// the step needs and no more.
    func testTicksAreRound() {
        let axis = LinePlot.Axis(0.123, 0.987, logarithmic: false)
        XCTAssertEqual(axis.ticks.map { axis.label($0) }, ["0", "0.2", "0.4", "0.6", "0.8", "1.0"])
        let steps = LinePlot.Axis(50, 12_000, logarithmic: false)
        XCTAssertEqual(steps.ticks.map { steps.label($0) }, ["0", "2000", "4000", "6000", "8000", "10000", "12000"])
        // One logged point: a range around it, not "50, 50.00, 50.00".
        let single = LinePlot.Axis(50, 50, logarithmic: false)
        XCTAssertEqual(Set(single.ticks.map { single.label($0) }).count, single.ticks.count)
        XCTAssert(single.low < 50 && single.high > 50)
        // A log axis labels whole decades.
        let decades = LinePlot.Axis(log10(0.003), log10(40), logarithmic: true)
        XCTAssertEqual(decades.ticks.map { decades.label($0) }, ["0.001", "0.01", "0.1", "1", "10", "100"])
    }

    /// One panel per series, so a small loss is not flattened by a large one.
    func testEverySeriesHasItsPanel() {
        let small = (1...10).map { (x: Double($0), y: 0.01 * Double($0)) }, large = (1...10).map { (x: Double($0), y: 1000 * Double($0)) }
        let one = LinePlot.render(series: [("loss", small)]), two = LinePlot.render(series: [("loss", small), ("loss_d", large)], title: "gan on mnist")
        XCTAssertEqual(two.height - one.height, LinePlot.panelHeight)
    }

    /// Headings add a band above the columns and one beside the rows, and small cells are
    /// magnified to at least 28 pixels.
    func testGridHeadingsFrameTheGrid() {
        let grid = Image(width: 3 * 12 + 4 * 2, height: 2 * 12 + 3 * 2, channels: 1, pixels: [UInt8](repeating: 0, count: 44 * 30))
        let headed = GridHeadings(columns: ["input", "output", "target"], rows: ["0", "1"]).apply(to: grid, cell: (12, 12))
        XCTAssertEqual(headed.channels, 3)
        XCTAssertGreaterThanOrEqual(headed.height, 16 + 3 * 30)
        XCTAssertGreaterThan(headed.width, 3 * 44)
    }
}
