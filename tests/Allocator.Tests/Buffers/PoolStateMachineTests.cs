using System.Buffers;
using System.Collections.Immutable;
using Allocator.Buffers;
using FsCheck;
using FsCheck.Experimental;
using FsCheck.Fluent;
using Xunit;

namespace Allocator.Tests.Buffers;

/// <summary>
/// Model-based property test of one <see cref="NativeMemoryPool{T}"/>: random sequences of Rent, write, read,
/// Slice, Pin and Dispose, with stale access to disposed owners attempted, checked after every step against a model
/// of the live owners: contents survive, blocks never overlap, stale access throws, and the pool's statistics
/// match the model's counts.
/// </summary>
public unsafe class PoolStateMachineTests : PoolTestBase
{
    /// <summary>A live owner as the model sees it: what was asked for and the byte it holds everywhere.</summary>
    public sealed record ModelOwner(int Id, int Size, byte Seed);

    /// <summary>The model: live owners, disposed ones (for stale access), and the counts the statistics must show.</summary>
    public sealed record Model(ImmutableList<ModelOwner> Live, ImmutableList<int> Disposed, int NextId, long Rents, long Returns)
    {
        public static readonly Model Empty = new([], [], 0, 0, 0);

        public override string ToString() => $"{Live.Count} live [{string.Join(", ", Live.Select(o => $"#{o.Id}:{o.Size}"))}], {Disposed.Count} disposed";
    }

    /// <summary>The real pool, its owners by model id, a memory taken from each, and the byte totals seen so far.</summary>
    public sealed class Actual
    {
        public readonly NativeMemoryPool<byte> Pool = new();
        public readonly Dictionary<int, IMemoryOwner<byte>> Owners = [];
        public readonly Dictionary<int, Memory<byte>> Memories = [];
        public long RentedBytes;
        public long OutstandingBytes;
        public long PeakBytes;

        public override string ToString() => Pool.ToString();
    }

    /// <summary>The invariants that hold after every step; a description of the first broken one, or null.</summary>
    private static string? Invariants(Actual actual, Model model)
    {
        var spans = new List<(nint Start, nint End, int Id)>();
        foreach (ModelOwner o in model.Live)
        {
            Span<byte> span = actual.Owners[o.Id].Memory.Span;
            if (span.Length < o.Size)
            {
                return $"owner {o.Id}: length {span.Length} below the {o.Size} asked for";
            }

            if (span.IndexOfAnyExcept(o.Seed) is int bad and >= 0)
            {
                return $"owner {o.Id} ({span.Length} bytes) lost its contents at {bad}";
            }

            fixed (byte* p = span)
            {
                spans.Add(((nint)p, (nint)p + span.Length, o.Id));
            }
        }

        spans.Sort();
        for (int i = 1; i < spans.Count; i++)
        {
            if (spans[i].Start < spans[i - 1].End)
            {
                return $"owners {spans[i - 1].Id} and {spans[i].Id} share memory";
            }
        }

        NativeMemoryPoolStatistics s = actual.Pool.GetStatistics();
        (long, long)[] pairs =
        [
            (s.Rents, model.Rents), (s.Returns, model.Returns), (s.Outstanding, model.Live.Count), (s.Leaked, 0),
            (s.RentedBytes, actual.RentedBytes), (s.OutstandingBytes, actual.OutstandingBytes), (s.PeakOutstandingBytes, actual.PeakBytes),
        ];
        string[] names = ["Rents", "Returns", "Outstanding", "Leaked", "RentedBytes", "OutstandingBytes", "PeakOutstandingBytes"];
        for (int i = 0; i < pairs.Length; i++)
        {
            if (pairs[i].Item1 != pairs[i].Item2)
            {
                return $"statistics show {names[i]} = {pairs[i].Item1}, the model {pairs[i].Item2}";
            }
        }

        return null;
    }

    private static Property Verdict(Actual actual, Model model, string? failure) =>
        Prop.Label(failure is null && (failure = Invariants(actual, model)) is null, failure ?? "ok");

    private sealed class RentStep(int size, byte seed, bool typed) : Operation<Actual, Model>
    {
        public override Model Run(Model m) =>
            m with { Live = m.Live.Add(new ModelOwner(m.NextId, size, seed)), NextId = m.NextId + 1, Rents = m.Rents + 1 };

        public override Property Check(Actual actual, Model m)
        {
            IMemoryOwner<byte> owner = typed ? actual.Pool.RentOwner(size) : actual.Pool.Rent(size);
            Memory<byte> memory = owner.Memory;
            memory.Span.Fill(seed); // write
            actual.Owners[m.NextId - 1] = owner;
            actual.Memories[m.NextId - 1] = memory;
            actual.RentedBytes += memory.Length;
            actual.OutstandingBytes += memory.Length;
            actual.PeakBytes = Math.Max(actual.PeakBytes, actual.OutstandingBytes);
            return Verdict(actual, m, null);
        }

        public override string ToString() => $"Rent({size})";
    }

    private sealed class RewriteStep(int index, byte seed) : Operation<Actual, Model>
    {
        public override bool Pre(Model m) => index < m.Live.Count;

        public override Model Run(Model m) => m with { Live = m.Live.SetItem(index, m.Live[index] with { Seed = seed }) };

        public override Property Check(Actual actual, Model m)
        {
            // Written through the memory taken at rent, read back through the owner by the invariants.
            actual.Memories[m.Live[index].Id].Span.Fill(seed);
            return Verdict(actual, m, null);
        }

        public override string ToString() => $"Write(#{index}, {seed})";
    }

    /// <summary>A step that looks at one live owner through the memory taken at its rent, changing nothing.</summary>
    private abstract class LookStep(int index) : Operation<Actual, Model>
    {
        protected int Index => index;

        public override bool Pre(Model m) => index < m.Live.Count;

        public override Model Run(Model m) => m;

        public override Property Check(Actual actual, Model m)
        {
            ModelOwner o = m.Live[index];
            return Verdict(actual, m, Look(o, actual.Memories[o.Id]));
        }

        /// <summary>What is wrong with <paramref name="o"/>, or null.</summary>
        protected abstract string? Look(ModelOwner o, Memory<byte> memory);
    }

    private sealed class SliceStep(int index, int startPercent, int lengthPercent) : LookStep(index)
    {
        protected override string? Look(ModelOwner o, Memory<byte> memory)
        {
            int start = (int)((long)memory.Length * startPercent / 100);
            int length = (int)((long)(memory.Length - start) * lengthPercent / 100);
            Memory<byte> slice = memory.Slice(start, length);
            string? failure = slice.Span.IndexOfAnyExcept(o.Seed) >= 0 ? $"slice [{start}, +{length}) of owner {o.Id} reads wrong bytes" : null;
            fixed (byte* whole = memory.Span)
            fixed (byte* part = slice.Span)
            {
                if (length > 0 && part != whole + start)
                {
                    failure ??= $"slice of owner {o.Id} does not start {start} bytes into it";
                }
            }

            return failure;
        }

        public override string ToString() => $"Slice(#{Index}, {startPercent}%, {lengthPercent}%)";
    }

    private sealed class PinStep(int index, int offsetPercent) : LookStep(index)
    {
        protected override string? Look(ModelOwner o, Memory<byte> memory)
        {
            int offset = (int)((long)memory.Length * offsetPercent / 100);
            using MemoryHandle handle = memory[offset..].Pin();
            string? failure = null;
            fixed (byte* whole = memory.Span)
            {
                if (handle.Pointer != whole + offset)
                {
                    failure = $"Pin at {offset} of owner {o.Id} gave another address";
                }
            }

            if (offset < memory.Length && *(byte*)handle.Pointer != o.Seed)
            {
                failure ??= $"the pinned byte of owner {o.Id} is wrong";
            }

            return failure;
        }

        public override string ToString() => $"Pin(#{Index}, {offsetPercent}%)";
    }

    private sealed class DisposeStep(int index, bool twice) : Operation<Actual, Model>
    {
        public override bool Pre(Model m) => index < m.Live.Count;

        public override Model Run(Model m) =>
            m with { Live = m.Live.RemoveAt(index), Disposed = m.Disposed.Add(m.Live[index].Id), Returns = m.Returns + 1 };

        public override Property Check(Actual actual, Model m)
        {
            int id = m.Disposed[^1];
            IMemoryOwner<byte> owner = actual.Owners[id];
            int length = actual.Memories[id].Length;
            owner.Dispose();
            if (twice)
            {
                owner.Dispose();
            }

            actual.OutstandingBytes -= length;
            return Verdict(actual, m, null);
        }

        public override string ToString() => twice ? $"Dispose(#{index}) twice" : $"Dispose(#{index})";
    }

    private sealed class StaleStep(int index, int kind) : Operation<Actual, Model>
    {
        public override bool Pre(Model m) => index < m.Disposed.Count;

        public override Model Run(Model m) => m;

        public override Property Check(Actual actual, Model m)
        {
            int id = m.Disposed[index];
            IMemoryOwner<byte> owner = actual.Owners[id];
            Memory<byte> stale = actual.Memories[id];
            Action attempt = kind switch
            {
                0 => () => _ = stale.Span[0],
                1 => () => stale.Span.Fill(0xFF),
                2 => () => stale.Pin().Dispose(),
                3 => () => _ = stale[(stale.Length / 2)..].Span.Length,
                4 => () => _ = owner.Memory,
                _ => () => stale.CopyTo(new byte[stale.Length]),
            };
            string? failure = null;
            try
            {
                attempt();
                failure = $"stale access {kind} to disposed owner {id} did not throw";
            }
            catch (ObjectDisposedException)
            {
            }

            _ = owner.ToString();
            return Verdict(actual, m, failure);
        }

        public override string ToString() => $"Stale(#{index}, kind {kind})";
    }

    private sealed class FreshSetup : Setup<Actual, Model>
    {
        public override Actual Actual() => new();

        public override Model Model() => PoolStateMachineTests.Model.Empty;
    }

    private sealed class DisposeAll : TearDown<Actual>
    {
        public override void Actual(Actual actual)
        {
            foreach (IMemoryOwner<byte> owner in actual.Owners.Values)
            {
                owner.Dispose();
            }

            actual.Pool.Dispose();
        }
    }

    private sealed class PoolMachine() : Machine<Actual, Model>(40)
    {
        private static readonly Gen<int> Sizes = Gen.Frequency(
            (3, Gen.Choose(0, 256)),
            (4, Gen.Choose(257, 16_384)),
            (2, Gen.Choose(16_385, 262_144)),
            (1, Gen.Choose(262_145, 5 << 20)));

        private static readonly Gen<byte> Seeds = Gen.Choose(0, 255).Select(i => (byte)i);

        public override Arbitrary<Setup<Actual, Model>> Setup => Arb.From(Gen.Fresh<Setup<Actual, Model>>(() => new FreshSetup()));

        public override TearDown<Actual> TearDown => new DisposeAll();

        public override Gen<Operation<Actual, Model>> Next(Model model)
        {
            Gen<Operation<Actual, Model>> rent =
                from size in Sizes
                from seed in Seeds
                from typed in Gen.Elements(true, false)
                select (Operation<Actual, Model>)new RentStep(size, seed, typed);
            var choices = new List<(int, Gen<Operation<Actual, Model>>)> { (5, rent) };
            if (model.Live.Count > 0)
            {
                Gen<int> live = Gen.Choose(0, model.Live.Count - 1);
                Gen<int> percent = Gen.Choose(0, 100);
                choices.Add((2, from i in live from seed in Seeds select (Operation<Actual, Model>)new RewriteStep(i, seed)));
                choices.Add((2, from i in live from a in percent from b in percent select (Operation<Actual, Model>)new SliceStep(i, a, b)));
                choices.Add((2, from i in live from a in percent select (Operation<Actual, Model>)new PinStep(i, a)));
                choices.Add((4, from i in live from twice in Gen.Elements(false, false, true) select (Operation<Actual, Model>)new DisposeStep(i, twice)));
            }

            if (model.Disposed.Count > 0)
            {
                choices.Add((3, from i in Gen.Choose(0, model.Disposed.Count - 1) from kind in Gen.Choose(0, 5) select (Operation<Actual, Model>)new StaleStep(i, kind)));
            }

            return Gen.Frequency(choices.ToArray());
        }
    }

    [FsCheck.Xunit.Property(MaxTest = 300)]
    public Property RandomSequencesKeepEveryInvariant() => StateMachine.ToProperty(new PoolMachine());
}
