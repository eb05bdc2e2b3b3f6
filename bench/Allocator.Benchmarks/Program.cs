using BenchmarkDotNet.Running;

namespace Allocator.Benchmarks;

/// <summary>Entry point: <c>quick</c> runs the short comparison; anything else goes to BenchmarkDotNet.</summary>
public static class Program
{
    public static int Main(string[] args)
    {
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        return 0;
    }
}
