using System.Runtime.CompilerServices;
using Allocator.Benchmarks.Competitors;

namespace Allocator.Benchmarks.Workloads;

/// <summary>A distribution of block sizes. Structs, so the generic code that draws from one is specialized.</summary>
public interface ISizeDistribution
{
    /// <summary>Draws a size in bytes.</summary>
    int Next(ref FastRandom random);
}

/// <summary>Every size in [min, max] equally likely.</summary>
public readonly struct UniformSizes(int min, int max) : ISizeDistribution
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Next(ref FastRandom random) => random.Between(min, max);
}

/// <summary>Density falling linearly from min to zero at max (rpmalloc-benchmark's "linear falloff").</summary>
public readonly struct LinearFalloffSizes(int min, int max) : ISizeDistribution
{
    public int Next(ref FastRandom random) => min + (int)((max - min) * (1 - Math.Sqrt(1 - random.NextDouble())));
}

/// <summary>Density proportional to 1/size (log-uniform), as glibc's bench-malloc-thread draws sizes.</summary>
public readonly struct LogUniformSizes(int min, int max) : ISizeDistribution
{
    public int Next(ref FastRandom random) => Math.Min(max, (int)(min * Math.Pow((double)max / min, random.NextDouble())));
}

/// <summary>Pareto sizes with the 80/20 shape (alpha = log 5 / log 4), from min, capped at max.</summary>
public readonly struct ParetoSizes(int min, int max) : ISizeDistribution
{
    private const double InverseAlpha = 0.8613531161467861; // log 4 / log 5

    public int Next(ref FastRandom random) =>
        (int)Math.Min(max, min * Math.Pow(1 - random.NextDouble(), -InverseAlpha));
}

/// <summary>A thread's working set of live blocks, replaced at random.</summary>
public static class WorkingSet<THeap, TBlock> where THeap : IBlockHeap<TBlock>
{
    /// <summary>Fills every slot with a block drawn from <paramref name="sizes"/>.</summary>
    public static void Fill<TSizes>(Span<Slot<TBlock>> slots, TSizes sizes, ref FastRandom random)
        where TSizes : struct, ISizeDistribution
    {
        for (int i = 0; i < slots.Length; i++)
        {
            Blocks<THeap, TBlock>.Fill(ref slots[i], sizes.Next(ref random), random.NextTag());
        }
    }

    /// <summary><paramref name="count"/> times: pick a random slot, check and free its block, allocate a new one.</summary>
    public static void Replace<TSizes>(Slot<TBlock>[] slots, long count, TSizes sizes, ref FastRandom random)
        where TSizes : struct, ISizeDistribution
    {
        for (long i = 0; i < count; i++)
        {
            ref Slot<TBlock> slot = ref slots[random.Below(slots.Length)];
            Blocks<THeap, TBlock>.Release(ref slot);
            Blocks<THeap, TBlock>.Fill(ref slot, sizes.Next(ref random), random.NextTag());
        }
    }
}

/// <summary>
/// The shape alloc-test and glibc-thread share: each thread fills its own working set, replaces random blocks
/// many times, then frees everything.
/// </summary>
public abstract class RandomReplacement<TSizes> : Workload where TSizes : struct, ISizeDistribution
{
    /// <summary>Live blocks per thread.</summary>
    protected abstract int SlotsPerThread { get; }

    /// <summary>Replacements per thread at scale 1.</summary>
    protected abstract int Replacements { get; }

    /// <summary>The size distribution.</summary>
    protected abstract TSizes Sizes { get; }

    public override long Run<THeap, TBlock>(WorkloadRun run)
    {
        long replacements = run.Scaled(Replacements);
        TSizes sizes = Sizes;
        ThreadGroup.Run(run.Threads, t =>
        {
            var random = new FastRandom((ulong)(run.Seed + t));
            var slots = new Slot<TBlock>[SlotsPerThread];
            WorkingSet<THeap, TBlock>.Fill(slots, sizes, ref random);
            WorkingSet<THeap, TBlock>.Replace(slots, replacements, sizes, ref random);
            Blocks<THeap, TBlock>.ReleaseAll(slots);
        });
        return run.Threads * (SlotsPerThread + replacements);
    }
}
