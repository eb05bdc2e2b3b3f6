using System.Globalization;
using Allocator.Benchmarks.Competitors;
using Allocator.Benchmarks.Micro;

namespace Allocator.Benchmarks.Quick;

/// <summary>
/// <c>side-by-side</c>: the pair, random-replacement and large rows of issue 3 for ours and every installed pointer
/// allocator, interleaved in one child process (<see cref="SideBySideTest"/>), repeated in several children. Prints
/// a table and writes it to bench/results/side-by-side.md. Options: <c>--rounds N</c> (default 30), <c>--passes N</c>
/// (child processes, default 3), <c>--allocators a,b</c> (glibc is always added), <c>--out DIR</c>.
/// </summary>
public static class SideBySideRunner
{
    private const int Pairs = 1_000_000;
    private const int Replacements = 200_000;
    private const int LargePasses = 20;

    public static int Run(string[] args)
    {
        int rounds = QuickOptions.IntOption(args, "--rounds", 30);
        int passes = QuickOptions.IntOption(args, "--passes", 3);
        var options = QuickOptions.ParseWithout(args, "--rounds", "--passes");
        List<Competitor> available = QuickRunner.Available(options.Competitors.Where(c => c.HasSideBySideTest), Console.Out);
        List<string> names = available.Select(c => c.Name).ToList();
        if (!names.Contains(NativeMemoryHeap.Name))
        {
            names.Insert(names.Contains(OursHeap.Name) ? 1 : 0, NativeMemoryHeap.Name);
        }

        var results = new List<SideBySideResult>();
        for (int pass = 0; pass < passes; pass++)
        {
            // Every pass is a new process; the second one lists the allocators in reverse, so none always goes first.
            IEnumerable<string> order = pass % 2 == 0 ? names : Enumerable.Reverse(names);
            Console.Write($"side-by-side, pass {pass + 1}/{passes}: {string.Join(", ", order)}, {rounds} rounds ... ");
            SideBySideResult? result = ChildProcess.RunSideBySideTest(order, rounds, Pairs, Replacements, LargePasses, options.Timeout, out string? problem);
            if (result is null)
            {
                Console.WriteLine("FAILED: " + problem);
                return 1;
            }

            Console.WriteLine(string.Join("  ", result.Rows.Select(r => $"{r.Allocator} {Format(r.PairRatio)}/{Format(r.RandomRatio)}/{Format(r.LargeRatio)}")));
            results.Add(result);
        }

        var rows = new List<string[]>();
        foreach (string name in names)
        {
            SideBySideRow[] mine = results.Select(r => r.Rows.Single(row => row.Allocator == name)).ToArray();
            rows.Add(
            [
                name,
                Format(Stats.Median(mine.Select(r => r.PairNs))),
                Format(Stats.Median(mine.Select(r => r.PairRatio))),
                string.Join(" ", mine.Select(r => Format(r.PairRatio))),
                Format(Stats.Median(mine.Select(r => r.RandomNs))),
                Format(Stats.Median(mine.Select(r => r.RandomRatio))),
                string.Join(" ", mine.Select(r => Format(r.RandomRatio))),
                Format(Stats.Median(mine.Select(r => r.LargeUs))),
                Format(Stats.Median(mine.Select(r => r.LargeRatio))),
                string.Join(" ", mine.Select(r => Format(r.LargeRatio))),
            ]);
        }

        var grid = new ResultTables.Grid(
            ["allocator", "pair ns", "pair / glibc", "every pass", "replacement ns", "replacement / glibc", "every pass", "large µs", "large / glibc", "every pass"],
            rows);
        ResultTables.Report(options.OutputDirectory, "side-by-side.md", "Pair, random replacement and large blocks, side by side",
            $"Every allocator in the same process, interleaved round by round ({rounds} measured rounds after {SideBySideTest.WarmupRounds} " +
            $"warm-up rounds): {Pairs:N0} 64-byte Alloc+Free pairs (first byte written), then {Replacements:N0} random replacements " +
            "among 10,000 live blocks of 8-1024 B (the first byte of each new block written), then " +
            $"{LargePasses} passes of the large row (16 blocks of 256 KiB-8 MiB, log-uniform: allocate, write one byte per 4 KiB page, free). " +
            "A ratio is the median over the " +
            "rounds of the allocator's time divided by glibc's in the same round; ns columns and ratios are the median over " +
            $"{passes} child processes (the second in reverse order), and 'every pass' lists each process's ratio.",
            grid, "Issue 3's targets for ours, as ratios to NativeMemory (glibc): pair <= 0.35, random replacement <= 0.35, large <= 1.0. " +
            "The BenchmarkDotNet rows measure each allocator in its own process, minutes apart; this test cancels the " +
            "machine's slow and fast spells, which fall on every allocator of a round alike.");
        return 0;
    }

    private static string Format(double value) => value.ToString(value >= 10 ? "0.0" : "0.00", CultureInfo.InvariantCulture);
}
