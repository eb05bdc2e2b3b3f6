using Allocator.Benchmarks.Mapping;
using Allocator.Benchmarks.Micro;
using Allocator.Benchmarks.Quick;
using BenchmarkDotNet.Running;

namespace Allocator.Benchmarks;

/// <summary>
/// Entry point.
/// <list type="bullet">
/// <item><c>quick [options]</c>: the workload comparison (every allocator in its own child process), then the
/// mapping section; <c>quick mapping</c> runs the mapping section alone, <c>--no-mapping</c> skips it.</item>
/// <item><c>memory</c>: the 1,000,000-block memory test.</item>
/// <item><c>scaling</c>: the two-thread row of issue 3 measured in pairs, 1 and 2 threads back to back.</item>
/// <item><c>side-by-side</c>: the pair and random-replacement rows of issue 3 for every pointer allocator in one process.</item>
/// <item>anything else goes to BenchmarkDotNet's switcher (e.g. <c>--filter '*'</c>).</item>
/// </list>
/// </summary>
public static class Program
{
    /// <summary>The BenchmarkDotNet sections that <c>quick</c> prints after the workloads: a name and the class it runs.</summary>
    private static readonly (string Name, Type Benchmarks)[] s_quickSections =
    [
        ("mapping", typeof(MappingBenchmarks)),
    ];

    public static int Main(string[] args)
    {
        switch (args.FirstOrDefault())
        {
            case "quick":
                return Quick(args[1..]);
            case "memory":
                return MemoryRunner.Run(args[1..]);
            case "scaling":
                return ScalingRunner.Run(args[1..]);
            case "side-by-side":
                return SideBySideRunner.Run(args[1..]);
            case ChildProcess.Verb:
                return ChildProcess.Run(args[1..]);
        }

        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args, MicroConfig.Create());
        return 0;
    }

    private static int Quick(string[] args)
    {
        string[] sections = args.Where(a => s_quickSections.Any(s => s.Name == a)).ToArray();
        if (sections.Length > 0)
        {
            return QuickRun.Run(s_quickSections, sections);
        }

        bool mapping = !args.Contains("--no-mapping");
        int result = QuickRunner.Run(args.Where(a => a != "--no-mapping").ToArray());
        if (result == 0 && mapping)
        {
            result = QuickRun.Run(s_quickSections, []);
        }

        return result;
    }
}
