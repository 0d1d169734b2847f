#!/usr/bin/env bash
# Rounding throughput, single core, release build.
# Builds Kernel + Rounding in release with SwiftPM, then compiles a small benchmark driver against
# the built modules with swiftc (no executable target in Package.swift is needed). The engine's
# rounding functions are @inlinable, so the driver sees them inlined, as Transactions would.
# Usage: bench/rounding.sh [roundings-per-method]   (default 400,000,000)
set -euo pipefail
cd "$(dirname "$0")/.."

count="${1:-400000000}"
swift build -c release --target Rounding >&2
bin_dir="$(swift build -c release --show-bin-path)"
work_dir=".build/rounding-bench"
mkdir -p "$work_dir"

cat > "$work_dir/main.swift" <<'SWIFT'
import Foundation
import Kernel
import Rounding

/// Single-thread throughput of every rounding method, the mode-dispatched call and the engine.
@main
struct RoundingBench {
    /// 64 Ki amounts (512 KB: fits in L2), cycled, so the loop measures rounding, not memory bandwidth.
    static let amountCount = 1 << 16

    static func main() {
        var generator = SystemRandomNumberGenerator()
        let amounts: [Int64] = (0..<amountCount).map { _ in
            Int64.random(in: -10_000_000...10_000_000, using: &generator)
        }
        let total = Int(CommandLine.arguments.dropFirst().first ?? "") ?? 400_000_000
        let passes = max(1, total / amountCount)
        print("roundings per method: \(passes * amountCount), single thread")
        measure("swedish_rounding", amounts, passes, CashRoundingMethods.swedishRounding)
        measure("symmetrical_rounding", amounts, passes, CashRoundingMethods.symmetricalRounding)
        measure("mandatory_round_down", amounts, passes, CashRoundingMethods.mandatoryRoundDown)
        measure("mandatory_round_up", amounts, passes, CashRoundingMethods.mandatoryRoundUp)
        measure("nearest_nickel", amounts, passes, CashRoundingMethods.nearestNickel)
        measure("nearest_dime", amounts, passes, CashRoundingMethods.nearestDime)
        measure("nearest_cent", amounts, passes, CashRoundingMethods.nearestCent)
        measure("none", amounts, passes, CashRoundingMethods.none)
        measureMixedDispatch(amounts, passes)
        measureSerial(passes * amounts.count)
        measureEngine(amounts)
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    static func report(_ label: String, _ rate: Double, _ unit: String, _ checksum: Int64) {
        let padded = label.padding(toLength: 36, withPad: " ", startingAt: 0)
        print("\(padded) \(String(format: "%9.2f", rate / 1e6)) M \(unit)/s  (checksum \(checksum & 0xFFFF))")
    }

    /// Rounds every amount `passes` times through `round`; the checksum keeps the work observable.
    @inline(__always)
    static func measure(_ label: String, _ amounts: [Int64], _ passes: Int, _ round: (Int64) -> Int64) {
        var checksum: Int64 = 0
        let elapsed = ContinuousClock().measure {
            amounts.withUnsafeBufferPointer { buffer in
                for _ in 0..<passes {
                    for amount in buffer { checksum &+= round(amount) }
                }
            }
        }
        report(label, Double(passes * amounts.count) / seconds(elapsed), "roundings", checksum)
    }

    /// The mode chosen per call at run time (as from requests), dispatched through the enum switch.
    static func measureMixedDispatch(_ amounts: [Int64], _ passes: Int) {
        let modes = CashRoundingMode.allCases
        var checksum: Int64 = 0
        var modeIndex = 0
        let elapsed = ContinuousClock().measure {
            amounts.withUnsafeBufferPointer { buffer in
                for _ in 0..<passes {
                    for amount in buffer {
                        checksum &+= modes[modeIndex].round(amount)
                        modeIndex = modeIndex == modes.count - 1 ? 0 : modeIndex + 1
                    }
                }
            }
        }
        report("CashRoundingMode.round (mixed modes)", Double(passes * amounts.count) / seconds(elapsed),
               "roundings", checksum)
    }

    /// Each input depends on the previous result, so nothing can be vectorized or overlapped:
    /// the latency-bound rate of one rounding call.
    static func measureSerial(_ count: Int) {
        var value: Int64 = 723
        let elapsed = ContinuousClock().measure {
            for index in 0..<count {
                value = CashRoundingMethods.swedishRounding(value &+ Int64(index & 7)) & 0xFF_FFFF
            }
        }
        report("swedish_rounding (serial dependency)", Double(count) / seconds(elapsed), "roundings", value)
    }

    /// The whole engine per transaction: ZIP resolution + rule lookup + method + result struct.
    static func measureEngine(_ amounts: [Int64]) {
        let engine = CashRoundingEngine()
        let location = CashRoundingLocation(zipCode: "85001")
        let date = Date()
        let loadElapsed = ContinuousClock().measure {
            _ = engine.roundCash(amountMinorUnits: 1, currency: .usd, location: location, on: date)
        }
        print("ZIP table first load: \(String(format: "%.1f", seconds(loadElapsed) * 1000)) ms")
        let count = 1_000_000
        var checksum: Int64 = 0
        let elapsed = ContinuousClock().measure {
            for index in 0..<count {
                checksum &+= engine.roundCash(amountMinorUnits: amounts[index & (amounts.count - 1)], currency: .usd,
                                              location: location, on: date).cashTotalMinorUnits
            }
        }
        report("CashRoundingEngine.roundCash (ZIP)", Double(count) / seconds(elapsed), "transactions", checksum)
    }
}
SWIFT

swiftc -O -wmo -parse-as-library -module-name RoundingBench \
    -I "$bin_dir/Modules" -I "$bin_dir" \
    "$work_dir/main.swift" \
    "$bin_dir"/Kernel.build/*.o "$bin_dir"/Rounding.build/*.o "$bin_dir"/RoundingZipData.build/*.o \
    -o "$work_dir/rounding-bench" 2>&1 | grep -v "^$" >&2 || true
echo "host: $(uname -m), $(nproc) cores, $(swift --version 2>/dev/null | head -1)"
taskset -c 0 "$work_dir/rounding-bench" "$count" 2>/dev/null || "$work_dir/rounding-bench" "$count"

# End to end: POST /transaction through the in-process router (Auth's real guard + idempotency + the
# chain append) over a real PostgreSQL, release build. Needs DATABASE_URL (scripts/lib/pg.sh). Sockets
# and HTTP parsing are not included (bench/http.sh measures the server alone).
if [ -n "${DATABASE_URL:-}" ]; then
    e2e_requests="${ROUNDING_E2E_REQUESTS:-4000}"
    swift build -c release --build-tests -Xswiftc -enable-testing >&2
    ROUNDING_E2E_REQUESTS="$e2e_requests" swift test -c release --skip-build --filter EndToEndBenchmark 2>&1 \
        | grep "POST /transaction end to end" || echo "end-to-end benchmark failed" >&2
else
    echo "DATABASE_URL not set: skipping the end-to-end POST /transaction benchmark" >&2
fi
