import Foundation
import TestSupport
import XCTest
@testable import deepgen

/// `train --resume` reads the command line that created a run to tell which options changed,
/// so it must know which options take no value: the list has to be the parser's own.
final class TrainOptionsTests: TemporaryDirectoryTestCase {
    func testTheFlagsResumeKnowsAreTheParsersFlags() throws {
        let dump = try Invocation.run(["train", "--experimental-dump-help"], in: root)
        struct Dump: Decodable {
            struct Command: Decodable { let arguments: [Argument] }
            struct Argument: Decodable { struct Name: Decodable { let name: String }; let kind: String; let preferredName: Name? }
            let command: Command
        }
        let flags = try JSONDecoder().decode(Dump.self, from: Data(dump.out.utf8)).command.arguments
            .filter { $0.kind == "flag" }.compactMap { $0.preferredName?.name }.filter { $0 != "help" }
        XCTAssertEqual(Set(flags), Train.flags)
        XCTAssert(Train.adjustableOnResume.isSubset(of: Set(try JSONDecoder().decode(Dump.self, from: Data(dump.out.utf8)).command.arguments
            .compactMap { $0.preferredName?.name })), "every option a resume may change exists")
    }

    func testAnArgumentListIsCutIntoOptions() {
        let cut = Train.options(in: ["vae", "--steps", "5", "--resume", "--out=runs/x", "--linear", "--hidden", "8,8"])
        XCTAssertEqual(cut.map(\.name), [nil, "steps", "resume", "out", "linear", "hidden"])
        XCTAssertEqual(cut.map(\.tokens), [["vae"], ["--steps", "5"], ["--resume"], ["--out=runs/x"], ["--linear"], ["--hidden", "8,8"]])
    }
}
