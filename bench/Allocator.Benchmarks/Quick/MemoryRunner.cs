using System.Globalization;
using Allocator.Benchmarks.Competitors;
using Allocator.Benchmarks.Workloads;

namespace Allocator.Benchmarks.Quick;

/// <summary>
/// <c>memory</c>: the memory test of issue 3 (<see cref="MemoryTest"/>) for ours and every installed pointer
/// allocator, each in its own process. Prints a table and writes it to bench/results/memory.md.
/// Options: <c>--blocks N</c> (default 1,000,000), <c>--allocators a,b</c>, <c>--out DIR</c>.
/// </summary>
public static class MemoryRunner
{
    private const double TargetPeakOverhead = 1.15;
    private const double TargetReturnMiB = 16;

    public static int Run(string[] args)
    {
        int blocks = QuickOptions.IntOption(args, "--blocks", new MemoryTestRun().Blocks);
        var options = QuickOptions.ParseWithout(args, "--blocks");

        List<Competitor> competitors = QuickRunner.Available(options.Competitors.Where(c => c.HasMemoryTest), Console.Out);
        var rows = new List<string[]>();
        bool oursFailed = false;
        foreach (Competitor competitor in competitors)
        {
            Console.Write($"memory test: {blocks:N0} blocks of {MemoryTestRun.MinSize}-{MemoryTestRun.MaxSize} B on {competitor.Name} ... ");
            MemoryTestResult? result = ChildProcess.RunMemoryTest(competitor, blocks, options.Timeout, out string? problem);
            if (result is null)
            {
                Console.WriteLine("FAILED: " + problem);
                oursFailed |= competitor.IsOurs;
                rows.Add([competitor.Name, "FAIL", "", "", "", "", ""]);
                continue;
            }

            Console.WriteLine($"peak/requested {result.PeakOverhead:0.00}");
            rows.Add(
            [
                competitor.Name,
                Above(result.RequestedBytes, 0),
                Above(result.PeakRss, result.BaselineRss),
                result.PeakOverhead.ToString("0.00", CultureInfo.InvariantCulture),
                Above(result.RssAfterFree, result.BaselineRss),
                Above(result.RssAfterSettle, result.BaselineRss),
                result.RssAfterCollect is { } collected ? Above(collected, result.BaselineRss) : "n/a",
            ]);
        }

        var grid = new ResultTables.Grid(
            ["allocator", "requested MiB", "peak above base MiB", "peak / requested", "after free MiB", "after 1 s MiB", "after collect MiB"],
            rows);
        string targets = $"Targets for ours: peak / requested <= {TargetPeakOverhead}, RSS back within {TargetReturnMiB} MiB " +
            "of the baseline after Collect(true), and within 1 s without it.";
        ResultTables.Report(options.OutputDirectory, "memory.md", "Memory test",
            $"{blocks:N0} live blocks of random sizes {MemoryTestRun.MinSize}-{MemoryTestRun.MaxSize} B, then all freed. " +
            "RSS columns are above the baseline measured just before the first allocation.",
            grid, targets);
        return oursFailed ? 1 : 0;
    }

    private static string Above(long value, long baseline) =>
        ResultTables.MiB(value - baseline).ToString("0.0", CultureInfo.InvariantCulture);
}
