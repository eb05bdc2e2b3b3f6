using Allocator.Benchmarks.Competitors;

namespace Allocator.Benchmarks.Workloads;

/// <summary>
/// A C# port of one mimalloc-bench workload. Each port follows the published description of the original, keeps
/// its parameters where they fit a 2-core machine and records every scaling in <see cref="Scaling"/>. Every block
/// is written with <see cref="Pattern"/> when allocated and checked before it is freed, so an allocator that
/// hands out overlapping or recycled-while-live memory fails with <see cref="BlockCorruptedException"/>.
/// </summary>
public abstract class Workload
{
    /// <summary>Every workload, in table order.</summary>
    public static IReadOnlyList<Workload> All { get; } =
    [
        new Larson(), new XmallocTest(), new CacheScratch(), new CacheThrash(), new MStress(), new RpTest(),
        new AllocTest(), new Sh6Bench(), new GlibcSimple(), new GlibcThread(), new MallocLarge(),
    ];

    /// <summary>The mimalloc-bench name.</summary>
    public abstract string Name { get; }

    /// <summary>What the original measures and how this port is scaled from it.</summary>
    public abstract string Scaling { get; }

    /// <summary>Finds a workload by name.</summary>
    public static Workload? Find(string name) =>
        All.FirstOrDefault(w => string.Equals(w.Name, name, StringComparison.OrdinalIgnoreCase));

    /// <summary>Runs the workload once on <typeparamref name="THeap"/>; returns the allocations it made.</summary>
    public abstract long Run<THeap, TBlock>(WorkloadRun run) where THeap : IBlockHeap<TBlock>;

    public override string ToString() => Name;
}

/// <summary>How big a run is.</summary>
/// <param name="Scale">1 for the <c>quick</c> run; the tiny scale for tests is 0.02.</param>
/// <param name="Threads">Worker threads; mimalloc-bench uses one per core.</param>
/// <param name="Seed">Seed for every random choice, so all allocators see the same sequence.</param>
public sealed record WorkloadRun(double Scale, int Threads, int Seed = 4141)
{
    /// <summary>The named scales.</summary>
    public static double ParseScale(string text) => text switch
    {
        "tiny" => 0.02,
        "small" => 0.25,
        "full" or "quick" => 1.0,
        _ => double.Parse(text, System.Globalization.CultureInfo.InvariantCulture),
    };

    /// <summary><paramref name="fullCount"/> times <see cref="Scale"/>, at least 1.</summary>
    public int Scaled(int fullCount) => Math.Max(1, (int)(fullCount * Scale));

    /// <summary>
    /// For a count the workload keeps whole at every ordinary scale (a working set, a generation's length):
    /// <paramref name="fullCount"/> from scale 0.05 up (the runner's warm-up and every timed run), and in proportion
    /// below it, at least <paramref name="floor"/>, so that the runner's tiny tier-up calls and the tests' tiny runs
    /// stay cheap.
    /// </summary>
    public int Tapered(int fullCount, int floor) =>
        Scale >= 0.05 ? fullCount : Math.Max(floor, (int)(fullCount * (Scale / 0.05)));
}
