// Which OpenBLAS kernels ("core") suit this CPU. OpenBLAS picks them once, when the library
// loads: from OPENBLAS_CORETYPE if set, else from its own CPU detection, which predates many
// CPUs (Debian's 0.3.21 falls back to old kernels on them). digits loads OpenBLAS on its first
// product (see BLAS), so the `digits` executable sets OPENBLAS_CORETYPE to the best core the
// CPU's flags allow before then (see DigitsCommand.selectBLASCore). DIGITS_BLAS_CORE forces a
// core; an inherited OPENBLAS_CORETYPE that is weaker than the CPU allows is replaced, and the
// BLAS line says so.
import DigitsKit

package enum BLASCore {
    package static let environmentVariable = "OPENBLAS_CORETYPE"
    /// Forces a core for digits, whatever the CPU or OPENBLAS_CORETYPE say.
    package static let overrideVariable = "DIGITS_BLAS_CORE"
    /// Set by digits when it chooses the core, holding the OPENBLAS_CORETYPE it replaced, or "-".
    package static let chosenMarker = "DIGITS_BLAS_CORE_CHOSEN"

    /// The best OpenBLAS core for a CPU with these flags, or nil to leave the choice to OpenBLAS.
    package static func choose(flags: Set<String>) -> String? {
        if flags.isSuperset(of: ["avx512f", "avx512vl", "avx512bw", "avx512dq", "avx512cd"]) { return "SkylakeX" }
        if flags.isSuperset(of: ["avx2", "fma"]) { return "Haswell" }
        if flags.contains("avx") { return "Sandybridge" }
        return nil
    }

    /// The vector width class of a core's kernels: 3 AVX-512, 2 AVX2, 1 AVX, 0 older or unknown.
    package static func tier(_ core: String) -> Int {
        switch core.lowercased() {
        case "skylakex", "cooperlake", "sapphirerapids": return 3
        case "haswell", "zen", "excavator": return 2
        case "sandybridge", "bulldozer", "piledriver", "steamroller": return 1
        default: return 0
        }
    }

    /// The core to ask OpenBLAS for, or nil to leave the choice to OPENBLAS_CORETYPE as it is set
    /// or to OpenBLAS's own detection: DIGITS_BLAS_CORE when set, else the best core for these
    /// flags unless OPENBLAS_CORETYPE already names one as good.
    package static func replacement(environment: [String: String], flags: Set<String>) -> String? {
        if let forced = environment[overrideVariable], !forced.isEmpty { return forced }
        guard let best = choose(flags: flags) else { return nil }
        if let inherited = environment[environmentVariable], tier(inherited) >= tier(best) { return nil }
        return best
    }

    /// The flags of the first processor in /proc/cpuinfo's text.
    package static func flags(cpuinfo: String) -> Set<String> {
        for line in cpuinfo.split(separator: "\n") where line.hasPrefix("flags") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            return Set(line[line.index(after: colon)...].split(separator: " ").map(String.init))
        }
        return []
    }

    /// How the core in use was chosen, for `digits train`'s BLAS line.
    package static func origin(environment: [String: String]) -> String {
        if environment[overrideVariable] != nil { return "from \(overrideVariable)" }
        if let replaced = environment[chosenMarker] {
            return replaced == "-" ? "chosen by digits for this CPU"
                : "chosen by digits for this CPU, replacing \(environmentVariable)=\(replaced)"
        }
        if environment[environmentVariable] != nil { return "from \(environmentVariable)" }
        return "OpenBLAS's own detection"
    }

    /// "OpenBLAS 0.3.21, core SkylakeX (chosen by digits for this CPU), 2 threads"
    package static func summary(environment: [String: String], threads: Int) -> String {
        let version = BLAS.configuration.split(separator: " ").prefix(2).joined(separator: " ")
        return "\(version), core \(BLAS.coreName) (\(origin(environment: environment))), \(threads) thread\(threads == 1 ? "" : "s")"
    }
}
