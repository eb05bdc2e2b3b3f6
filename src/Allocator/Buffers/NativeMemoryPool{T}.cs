using System.Buffers;
using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace Allocator.Buffers;

/// <summary>
/// A <see cref="MemoryPool{T}"/> whose buffers are native blocks from <see cref="NativeAllocator"/>, so large and
/// hot buffers leave the GC heap. Each rent is one native block and one new 32-byte owner object.
/// </summary>
/// <remarks>
/// <para><b>Design.</b> <see cref="Rent"/> takes a block from a per-thread slot of its size bucket, else from a
/// small shared stack, else from the allocator (BlockCache: the shape of <c>ArrayPool&lt;byte&gt;.Shared</c>, with
/// native blocks; trimmed after Gen2 GCs), and wraps it in a new <see cref="NativeMemoryOwner{T}"/> whose
/// <c>Memory.Length</c> is the block's whole usable size: the allocator's size class up to 256 KiB, at least a power of
/// two up to 4 MiB, the mapping's size above. Owners are never recycled, which is what makes a stale
/// <see cref="Memory{T}"/> throw instead of aliasing a block handed out again (see <see cref="NativeMemoryOwner{T}"/>).
/// The cache is shared by all pools; each pool keeps only its settings and its statistics.</para>
/// <para><b>Leaks.</b> An owner dropped without <c>Dispose</c> is caught by the finalizer of its block's guard,
/// which is recycled with the block (a finalizer per owner would cost more than a whole rent): the block goes back
/// to the allocator and <see cref="NativeMemoryPoolStatistics.Leaked"/> counts it; <see cref="LeakDetected"/> is raised; in checked mode
/// (<see cref="NativeMemoryPoolOptions.Checked"/>) the report carries the stack of the leaked <c>Rent</c>, and is
/// also written with <see cref="Trace.TraceWarning(string)"/>.</para>
/// <para><b>Disposing the pool</b> makes further rents throw <see cref="ObjectDisposedException"/>. Owners rented
/// before stay valid until they are disposed (or finalized), and are counted in this pool's statistics: freeing
/// blocks under live owners would be a use-after-free, and the blocks are the allocator's, not the pool's.
/// <see cref="NativeMemoryPool.Shared"/> ignores <c>Dispose</c>.</para>
/// <para><b>Thread safety.</b> Every member may be called from any thread; owners may be disposed on a thread other
/// than the one that rented them (the block goes to that thread's cache slot or the shared stack, and to the
/// allocator's remote-free path when it is finally freed).</para>
/// </remarks>
/// <typeparam name="T">The element type.</typeparam>
public sealed unsafe class NativeMemoryPool<T> : MemoryPool<T>
    where T : unmanaged
{
    private readonly int _maxBufferSize;
    private readonly int _defaultBufferSize;
    private readonly bool _clearOnRent;
    private readonly long _byteBudget;
    private readonly bool _isShared;
    private readonly bool _hasBudget;
    private readonly bool _isChecked;
    private readonly bool _plainRent;
    private readonly PoolState _state;
    private readonly PoolCounters _counters;
    private volatile bool _disposed;

    /// <summary>Makes an independent pool with its own settings and statistics.</summary>
    /// <param name="options">The settings; null for <see cref="NativeMemoryPoolOptions.Default"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException">A setting is out of range.</exception>
    public NativeMemoryPool(NativeMemoryPoolOptions? options = null)
        : this(options ?? NativeMemoryPoolOptions.Default, isShared: false)
    {
    }

    internal NativeMemoryPool(NativeMemoryPoolOptions options, bool isShared)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxBufferSize, 1, nameof(options.MaxBufferSize));
        ArgumentOutOfRangeException.ThrowIfNegative(options.ByteBudget, nameof(options.ByteBudget));
        int defaultSize = options.DefaultBufferSize ?? Math.Max(1, 4096 / sizeof(T));
        ArgumentOutOfRangeException.ThrowIfNegative(defaultSize, nameof(options.DefaultBufferSize));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(defaultSize, options.MaxBufferSize, nameof(options.DefaultBufferSize));
        _maxBufferSize = options.MaxBufferSize;
        _defaultBufferSize = defaultSize;
        _clearOnRent = options.ClearOnRent;
        _byteBudget = options.ByteBudget;
        _isShared = isShared;
        _hasBudget = options.ByteBudget != long.MaxValue;
        _isChecked = options.Checked;
        _plainRent = !_hasBudget && !_clearOnRent && !_isChecked;
        _state = new PoolState($"Allocator.Buffers.NativeMemoryPool<{typeof(T).Name}>", sizeof(T), options.ClearOnReturn, options.Checked, _hasBudget);
        _counters = _state.Counters;
    }

    /// <summary>
    /// Raised, on the finalizer thread, for each owner finalized without being disposed (after its block went
    /// back). Handlers must be quick and must not throw; an exception from one is caught and ignored.
    /// </summary>
    public event Action<NativeMemoryLeak>? LeakDetected
    {
        add => _state.LeakDetected += value;
        remove => _state.LeakDetected -= value;
    }

    /// <summary>The largest rent, in elements (<see cref="NativeMemoryPoolOptions.MaxBufferSize"/>).</summary>
    public override int MaxBufferSize => _maxBufferSize;

    /// <summary>What <c>Rent(-1)</c> asks for, in elements.</summary>
    public int DefaultBufferSize => _defaultBufferSize;

    /// <summary>True when rents record their stack trace (<see cref="NativeMemoryPoolOptions.Checked"/>).</summary>
    public bool IsChecked => _isChecked;

    /// <summary>
    /// Rents a native block of at least <paramref name="minBufferSize"/> elements. The owner's <c>Memory.Length</c>
    /// is the block's whole usable size, rounded down to whole elements.
    /// </summary>
    /// <param name="minBufferSize">The elements needed; -1 for <see cref="DefaultBufferSize"/>; 0 is valid.</param>
    /// <returns>A new <see cref="NativeMemoryOwner{T}"/>; dispose it to return the block.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="minBufferSize"/> is below -1 or above <see cref="MaxBufferSize"/>.</exception>
    /// <exception cref="ObjectDisposedException">The pool was disposed.</exception>
    /// <exception cref="InsufficientMemoryException">The rent would take the pool beyond its <see cref="NativeMemoryPoolOptions.ByteBudget"/>.</exception>
    /// <exception cref="OutOfMemoryException">The OS refused memory.</exception>
    public override IMemoryOwner<T> Rent(int minBufferSize = -1) => RentOwner(minBufferSize);

    /// <summary>As <see cref="Rent"/>, typed: the owner gives <see cref="NativeMemoryOwner{T}.Span"/> and <see cref="NativeMemoryOwner{T}.Pointer"/> directly.</summary>
    /// <param name="minBufferSize">The elements needed; -1 for <see cref="DefaultBufferSize"/>; 0 is valid.</param>
    /// <returns>A new owner; dispose it to return the block.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="minBufferSize"/> is below -1 or above <see cref="MaxBufferSize"/>.</exception>
    /// <exception cref="ObjectDisposedException">The pool was disposed.</exception>
    /// <exception cref="InsufficientMemoryException">The rent would take the pool beyond its <see cref="NativeMemoryPoolOptions.ByteBudget"/>.</exception>
    /// <exception cref="OutOfMemoryException">The OS refused memory.</exception>
    public NativeMemoryOwner<T> RentOwner(int minBufferSize = -1)
    {
        if ((uint)minBufferSize > (uint)_maxBufferSize)
        {
            minBufferSize = CheckUnusualSize(minBufferSize);
        }

        if (_disposed)
        {
            ThrowHelper.ThrowPoolDisposed();
        }

        nuint bytes = (nuint)minBufferSize * (nuint)sizeof(T);
        if (_hasBudget)
        {
            CheckBudget(bytes);
        }

        ThreadCache cache = ThreadCache.Current;
        NativeBlock block = BlockCache.Take(cache, bytes);
        int length = (int)Math.Min(block.Size / (nuint)sizeof(T), int.MaxValue);
        long lengthBytes = (long)length * sizeof(T);
        if (!_plainRent)
        {
            PrepareUnusual(cache, block, lengthBytes);
        }

        ThreadCounters renter = _counters.Rent(cache, lengthBytes);
        if (block.Renter != renter)
        {
            // A block cached on this thread usually comes back to the thread and pool that last rented it: skip the write barrier.
            block.Renter = renter;
        }

        block.Bytes = lengthBytes;
        return new NativeMemoryOwner<T>(block, length, block.BeginRent());
    }

    /// <summary>A snapshot of this pool's counters.</summary>
    /// <returns>The statistics.</returns>
    public NativeMemoryPoolStatistics GetStatistics() => _state.Snapshot(withLeaks: true);

    /// <summary>"Allocator.Buffers.NativeMemoryPool&lt;Byte&gt;: " and the statistics. Never throws.</summary>
    /// <returns>The description.</returns>
    public override string ToString() =>
        $"Allocator.Buffers.NativeMemoryPool<{typeof(T).Name}>{(_disposed ? " (disposed)" : string.Empty)}: {_state.Snapshot(withLeaks: false)}";

    /// <summary>Further rents throw <see cref="ObjectDisposedException"/>; owners already rented stay valid. Ignored by <see cref="NativeMemoryPool.Shared"/>.</summary>
    /// <param name="disposing">True when called from <see cref="IDisposable.Dispose"/>.</param>
    protected override void Dispose(bool disposing)
    {
        if (!_isShared)
        {
            _disposed = true;
        }
    }

    private int CheckUnusualSize(int minBufferSize)
    {
        if (minBufferSize == -1)
        {
            return _defaultBufferSize;
        }

        ThrowHelper.ThrowRentSize(minBufferSize, _maxBufferSize);
        return 0;
    }

    /// <summary>The rare parts of a rent: the budget's reservation, clearing, the rent's stack in checked mode.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void PrepareUnusual(ThreadCache cache, NativeBlock block, long bytes)
    {
        if (_hasBudget && !_counters.TryReserve(bytes, _byteBudget))
        {
            BlockCache.Give(cache, block);
            ThrowHelper.ThrowOverBudget(bytes, _counters.BudgetOutstanding, _byteBudget);
        }

        if (_clearOnRent)
        {
            NativeAllocator.Clear((void*)block.Pointer, (nuint)bytes);
        }

        if (_isChecked)
        {
            // Skips this method and RentOwner: the stack starts at Rent or at its caller.
            block.RentStack = new StackTrace(2, fNeedFileInfo: true);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void CheckBudget(nuint bytes)
    {
        long outstanding = _counters.BudgetOutstanding;
        if (outstanding + (long)bytes > _byteBudget)
        {
            ThrowHelper.ThrowOverBudget((long)bytes, outstanding, _byteBudget);
        }
    }
}
