using System.Diagnostics;
using Allocator.Benchmarks.Competitors;

namespace Allocator.Benchmarks.Micro;

/// <summary>What <see cref="SideBySideTest"/> measured for one allocator in one process.</summary>
/// <param name="Allocator">The allocator's short name.</param>
/// <param name="PairNs">Median time of one 64-byte Alloc+Free pair, ns.</param>
/// <param name="PairRatio">Median over the rounds of this allocator's pair time divided by glibc's in the same round.</param>
/// <param name="RandomNs">Median time of one random replacement (8-1024 B, 10,000 live blocks), ns.</param>
/// <param name="RandomRatio">Median over the rounds of this allocator's replacement time divided by glibc's in the same round.</param>
/// <param name="LargeUs">Median time of one pass of the large row (16 blocks of 256 KiB-8 MiB: alloc, touch every page, free), µs.</param>
/// <param name="LargeRatio">Median over the rounds of this allocator's large-row time divided by glibc's in the same round.</param>
public sealed record SideBySideRow(string Allocator, double PairNs, double PairRatio, double RandomNs, double RandomRatio, double LargeUs, double LargeRatio);

/// <summary>Everything one child measured.</summary>
/// <param name="Rounds">Measured rounds (after the warm-up rounds).</param>
/// <param name="Rows">One row per allocator, in the order they were given.</param>
public sealed record SideBySideResult(int Rounds, SideBySideRow[] Rows);

/// <summary>One allocator's share of <see cref="SideBySideTest"/>: its live set and its two timed loops.</summary>
public abstract class SideBySideEntry
{
    /// <summary>The allocator's short name.</summary>
    public abstract string Name { get; }

    /// <summary>Allocates the live set of the random-replacement loop.</summary>
    public abstract void Fill();

    /// <summary>Times <paramref name="pairs"/> 64-byte Alloc+Free pairs (the first byte written); returns ns per pair.</summary>
    public abstract double Pair(int pairs);

    /// <summary>Times <paramref name="replacements"/> random replacements; returns ns per replacement.</summary>
    public abstract double Random(int replacements);

    /// <summary>Times <paramref name="passes"/> passes of the large row (<see cref="LargeBlocks"/>); returns µs per pass.</summary>
    public abstract double Large(int passes);

    /// <summary>Frees the live set.</summary>
    public abstract void Clear();
}

/// <summary>The entry of allocator <typeparamref name="THeap"/>, with direct calls (no dispatch inside the loops).</summary>
public sealed unsafe class SideBySideEntry<THeap> : SideBySideEntry where THeap : INativeHeap
{
    private readonly LiveSet<nint> _set = new(10_000, 8, 1024, seed: 4141);

    public override string Name => THeap.Name;

    public override void Fill() => _set.Fill<NativeBlocks<THeap>>();

    public override double Pair(int pairs)
    {
        long begin = Stopwatch.GetTimestamp();
        for (int i = 0; i < pairs; i++)
        {
            byte* block = (byte*)THeap.Alloc(64);
            block[0] = 1;
            THeap.Free(block);
        }

        return Stopwatch.GetElapsedTime(begin).TotalNanoseconds / pairs;
    }

    public override double Random(int replacements)
    {
        long begin = Stopwatch.GetTimestamp();
        _set.Replace<NativeBlocks<THeap>>(replacements);
        return Stopwatch.GetElapsedTime(begin).TotalNanoseconds / replacements;
    }

    public override double Large(int passes)
    {
        ReadOnlySpan<int> sizes = LargeBlocks.Sizes;
        long begin = Stopwatch.GetTimestamp();
        for (int pass = 0; pass < passes; pass++)
        {
            foreach (int size in sizes)
            {
                LargeBlocks.AllocTouchFree<THeap>(size);
            }
        }

        return Stopwatch.GetElapsedTime(begin).TotalMicroseconds / passes;
    }

    public override void Clear() => _set.Clear<NativeBlocks<THeap>>();
}

/// <summary>
/// The pair, random-replacement and large rows of issue 3 for several allocators in one process, interleaved: each
/// round runs every allocator's pair loop, then every allocator's replacement loop, then every allocator's large loop, and an allocator's ratio is the
/// median over the rounds of its time divided by glibc's in the same round. A shared machine's slow and fast
/// spells (the same build's pair took 4.9 ns in one BenchmarkDotNet process and 10 ns in another) then fall on
/// every allocator alike, which two processes minutes apart cannot promise. Single-threaded. The allocators' live
/// sets (about 5 MiB each) sit side by side and evict each other from the caches, so each timed replacement loop
/// follows an untimed one a quarter its length on the same set.
/// </summary>
public static class SideBySideTest
{
    /// <summary>Rounds run before the measured ones, not counted.</summary>
    public const int WarmupRounds = 5;

    /// <summary>
    /// Runs <paramref name="rounds"/> measured rounds of <paramref name="pairs"/> pairs and
    /// <paramref name="replacements"/> replacements per allocator; <paramref name="entries"/> must include glibc.
    /// </summary>
    public static SideBySideResult Run(IReadOnlyList<SideBySideEntry> entries, int rounds, int pairs, int replacements, int largePasses)
    {
        int glibc = entries.ToList().FindIndex(e => e.Name == NativeMemoryHeap.Name);
        if (glibc < 0)
        {
            throw new ArgumentException("the side-by-side test needs glibc as its baseline", nameof(entries));
        }

        foreach (SideBySideEntry entry in entries)
        {
            entry.Fill();
        }

        int n = entries.Count;
        var pair = new List<double>[n];
        var random = new List<double>[n];
        var pairRatio = new List<double>[n];
        var randomRatio = new List<double>[n];
        var large = new List<double>[n];
        var largeRatio = new List<double>[n];
        for (int k = 0; k < n; k++)
        {
            (pair[k], random[k], pairRatio[k], randomRatio[k], large[k], largeRatio[k]) = ([], [], [], [], [], []);
        }

        var pairNow = new double[n];
        var randomNow = new double[n];
        var largeNow = new double[n];
        for (int round = 0; round < WarmupRounds + rounds; round++)
        {
            // Alternate the order, so that no allocator always runs right after the same one.
            for (int i = 0; i < n; i++)
            {
                int k = round % 2 == 0 ? i : n - 1 - i;
                pairNow[k] = entries[k].Pair(pairs);
            }

            for (int i = 0; i < n; i++)
            {
                int k = round % 2 == 0 ? i : n - 1 - i;
                entries[k].Random(replacements / 4); // bring this allocator's live set back into cache, untimed
                randomNow[k] = entries[k].Random(replacements);
            }

            for (int i = 0; i < n; i++)
            {
                int k = round % 2 == 0 ? i : n - 1 - i;
                entries[k].Large(1); // its blocks back in the cache and its mappings warm, untimed
                largeNow[k] = entries[k].Large(largePasses);
            }

            if (round < WarmupRounds)
            {
                continue;
            }

            for (int k = 0; k < n; k++)
            {
                pair[k].Add(pairNow[k]);
                random[k].Add(randomNow[k]);
                pairRatio[k].Add(pairNow[k] / pairNow[glibc]);
                randomRatio[k].Add(randomNow[k] / randomNow[glibc]);
                large[k].Add(largeNow[k]);
                largeRatio[k].Add(largeNow[k] / largeNow[glibc]);
            }
        }

        foreach (SideBySideEntry entry in entries)
        {
            entry.Clear();
        }

        return new SideBySideResult(
            rounds,
            Enumerable.Range(0, n)
                .Select(k => new SideBySideRow(
                    entries[k].Name,
                    Stats.Median(pair[k]),
                    Stats.Median(pairRatio[k]),
                    Stats.Median(random[k]),
                    Stats.Median(randomRatio[k]),
                    Stats.Median(large[k]),
                    Stats.Median(largeRatio[k])))
                .ToArray());
    }
}
