using System.Globalization;
using Allocator.Benchmarks.Competitors;
using Allocator.Benchmarks.Micro;

namespace Allocator.Benchmarks.Quick;

/// <summary>
/// <c>scaling</c>: the paired two-thread scaling test (<see cref="ScalingTest"/>) for ours and every installed
/// pointer allocator, each in its own process. Prints a table and writes it to bench/results/scaling.md.
/// Options: <c>--rounds N</c> (default 15), <c>--replacements N</c> (default 1,000,000), <c>--passes N</c>
/// (default 2), <c>--allocators a,b</c>, <c>--out DIR</c>.
/// </summary>
public static class ScalingRunner
{
    private const double Target = 1.8;

    public static int Run(string[] args)
    {
        int rounds = QuickOptions.IntOption(args, "--rounds", 15);
        int replacements = QuickOptions.IntOption(args, "--replacements", 1_000_000);
        int passes = QuickOptions.IntOption(args, "--passes", 2);
        var options = QuickOptions.ParseWithout(args, "--rounds", "--replacements", "--passes");
        List<Competitor> available = QuickRunner.Available(options.Competitors.Where(c => c.HasScalingTest), Console.Out);

        // The allocators, then the floor: ReferenceHeap does the least work a thread-local allocator can, so its
        // scaling is what this machine's two cores give to this workload when the allocator costs almost nothing.
        List<string> competitors = [.. available.Select(c => c.Name), ReferenceHeap.Name];
        string ours = OursHeap.Name;

        // Each allocator runs in one child per pass, the second pass in reverse order: on a shared machine a burst of
        // load takes a core from the 2-thread runs and so only ever lowers a child's figure, and the children that run
        // first (while the parent process still compiles its own code) were the ones hit most often.
        var results = new Dictionary<string, List<ScalingResult>>();
        var failed = new HashSet<string>();
        for (int pass = 0; pass < passes; pass++)
        {
            IEnumerable<string> order = pass % 2 == 0 ? competitors : Enumerable.Reverse(competitors);
            foreach (string competitor in order)
            {
                Console.Write($"scaling, pass {pass + 1}/{passes}: {competitor}, {rounds} rounds of {replacements:N0} replacements on 1 and on 2 threads ... ");
                ScalingResult? result = ChildProcess.RunScalingTest(competitor, rounds, replacements, options.Timeout, out string? problem);
                if (result is null)
                {
                    Console.WriteLine("FAILED: " + problem);
                    failed.Add(competitor);
                    continue;
                }

                Console.WriteLine($"{result.Scaling:0.00}x");
                (results.TryGetValue(competitor, out List<ScalingResult>? list) ? list : results[competitor] = []).Add(result);
            }
        }

        var rows = new List<string[]>();
        bool oursFailed = false;
        foreach (string competitor in competitors)
        {
            string label = competitor == ReferenceHeap.Name ? "reference (floor, no allocator work)" : competitor;
            if (failed.Contains(competitor) || !results.TryGetValue(competitor, out List<ScalingResult>? list))
            {
                oursFailed |= competitor == ours;
                rows.Add([label, "FAIL", "", "", "", ""]);
                continue;
            }

            ScalingResult best = list.MaxBy(r => r.Scaling)!;
            rows.Add(
            [
                label,
                best.OneThreadMs.ToString("0.00", CultureInfo.InvariantCulture),
                best.TwoThreadMs.ToString("0.00", CultureInfo.InvariantCulture),
                best.Scaling.ToString("0.00", CultureInfo.InvariantCulture),
                $"{best.LowestScaling.ToString("0.00", CultureInfo.InvariantCulture)}-{best.HighestScaling.ToString("0.00", CultureInfo.InvariantCulture)}",
                string.Join(" ", list.Select(r => r.Scaling.ToString("0.00", CultureInfo.InvariantCulture))),
            ]);
        }

        var grid = new ResultTables.Grid(
            ["allocator", "1 thread ms (median)", "2 threads ms (median)", "scaling (median of pairs)", "lowest-highest pair", "every pass"],
            rows);
        ResultTables.Report(options.OutputDirectory, "scaling.md", "Two-thread scaling, paired",
            $"Random replacement of 8-1024 B blocks, 10,000 live blocks per thread; {replacements:N0} replacements done " +
            $"by one thread, then split between two, back to back in one process, {rounds} rounds alternating which " +
            "goes first. Scaling is the median of the rounds' ratios (1-thread time / 2-thread time). Each allocator ran " +
            $"in {passes} child processes (the second pass in reverse order); the table shows the pass with the higher " +
            "scaling, and the last column every pass.",
            grid, $"Target for ours: 2 threads give at least {Target}x the throughput of one. The reference row is a floor, not an " +
            "allocator: a thread-local free list per 16-byte class with no checks, no statistics and no cross-thread " +
            "frees, so its scaling is what the machine gives this workload when allocation costs almost nothing.");
        return oursFailed ? 1 : 0;
    }
}
