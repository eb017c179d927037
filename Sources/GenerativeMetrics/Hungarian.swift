/// The assignment problem: for an n x m cost matrix (n <= m), the row-to-column matching of
/// least total cost, by the Hungarian method with potentials (Kuhn 1955, Munkres 1957) in
/// O(n^2 m).
public enum Hungarian {
    /// `assignment[row]` is the column given to `row`.
    public static func minimumCostAssignment(_ cost: [[Double]]) -> [Int] {
        let n = cost.count
        guard n > 0 else { return [] }
        let m = cost[0].count
        precondition(
            cost.allSatisfy { $0.count == m } && n <= m, "Hungarian: needs a rectangular matrix with rows <= columns")
        // 1-based arrays as in the classical formulation; column 0 is a virtual start.
        var u = [Double](repeating: 0, count: n + 1), v = [Double](repeating: 0, count: m + 1)
        var rowOfColumn = [Int](repeating: 0, count: m + 1), way = [Int](repeating: 0, count: m + 1)
        for row in 1...n {
            rowOfColumn[0] = row
            var column0 = 0
            var minimum = [Double](repeating: .infinity, count: m + 1)
            var used = [Bool](repeating: false, count: m + 1)
            repeat {
                used[column0] = true
                let row0 = rowOfColumn[column0]
                var delta = Double.infinity, column1 = 0
                for j in 1...m where !used[j] {
                    let reduced = cost[row0 - 1][j - 1] - u[row0] - v[j]
                    if reduced < minimum[j] { minimum[j] = reduced; way[j] = column0 }
                    if minimum[j] < delta { delta = minimum[j]; column1 = j }
                }
                for j in 0...m {
                    if used[j] { u[rowOfColumn[j]] += delta; v[j] -= delta } else { minimum[j] -= delta }
                }
                column0 = column1
            } while rowOfColumn[column0] != 0
            // Flip the augmenting path back to its start.
            repeat {
                let previous = way[column0]
                rowOfColumn[column0] = rowOfColumn[previous]
                column0 = previous
            } while column0 != 0
        }
        var assignment = [Int](repeating: -1, count: n)
        for j in 1...m where rowOfColumn[j] != 0 { assignment[rowOfColumn[j] - 1] = j - 1 }
        return assignment
    }
}

/// Unsupervised clustering accuracy: the fraction of examples whose cluster, mapped one-to-one
/// to a class by the best matching (Hungarian method on the confusion counts), is their class.
public func clusteringAccuracy(clusters: [Int], labels: [Int]) -> Double {
    precondition(
        clusters.count == labels.count && !labels.isEmpty,
        "clusteringAccuracy: \(clusters.count) clusters for \(labels.count) labels")
    let k = max(clusters.max()!, labels.max()!) + 1
    var counts = [[Double]](repeating: [Double](repeating: 0, count: k), count: k)
    for (c, l) in zip(clusters, labels) { counts[c][l] += 1 }
    let assignment = Hungarian.minimumCostAssignment(counts.map { $0.map { -$0 } })
    let matched = assignment.enumerated().reduce(0.0) { $0 + counts[$1.offset][$1.element] }
    return matched / Double(labels.count)
}
