using Allocator.Benchmarks.Mapping;
using BenchmarkDotNet.Running;

namespace Allocator.Benchmarks;

/// <summary>
/// Entry point. <c>quick [SECTION...]</c> runs the short comparison: every section below (or the ones named),
/// each printed as a table. Any other arguments go to BenchmarkDotNet's switcher (e.g. <c>--filter '*Mapping*'</c>)
/// for full-length runs.
/// </summary>
public static class Program
{
    /// <summary>The sections of <c>quick</c>, in order: a name and the benchmark class it runs.</summary>
    private static readonly (string Name, Type Benchmarks)[] s_quickSections =
    [
        ("mapping", typeof(MappingBenchmarks)),
    ];

    public static int Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "quick")
        {
            return QuickRun.Run(s_quickSections, args[1..]);
        }

        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        return 0;
    }
}
