import Foundation
import TestSupport
import XCTest
@testable import deepgen

/// `train --resume` reads the command line that created a run to tell which options changed,
/// so it must know which options take no value: the list has to be the parser's own.
final class TrainOptionsTests: TemporaryDirectoryTestCase {
    func testTheFlagsResumeKnowsAreTheParsersFlags() throws {
        let arguments = try Invocation.arguments(of: ["train"], in: root)
        XCTAssertEqual(Set(arguments.filter { $0.kind == "flag" }.compactMap(\.name).filter { $0 != "help" }), Train.flags)
        XCTAssert(Train.adjustableOnResume.isSubset(of: Set(arguments.compactMap(\.name))), "every option a resume may change exists")
    }

    func testAnArgumentListIsCutIntoOptions() {
        let cut = Train.options(in: ["vae", "--steps", "5", "--resume", "--out=runs/x", "--linear", "--hidden", "8,8"])
        XCTAssertEqual(cut.map(\.name), [nil, "steps", "resume", "out", "linear", "hidden"])
        XCTAssertEqual(cut.map(\.tokens), [["vae"], ["--steps", "5"], ["--resume"], ["--out=runs/x"], ["--linear"], ["--hidden", "8,8"]])
    }
}
