using System.Buffers;
using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace Allocator.Buffers;

/// <summary>
/// One native block rented from a <see cref="NativeMemoryPool{T}"/>: an <see cref="IMemoryOwner{T}"/> and a
/// <see cref="MemoryManager{T}"/>, so every <see cref="Memory{T}"/> made from it goes back through this object.
/// </summary>
/// <remarks>
/// <para><b>No stale aliasing.</b> An owner is never recycled: each <see cref="NativeMemoryPool{T}.Rent"/> makes a
/// new one, and <see cref="Dispose()"/> clears its reference to the block before the block goes back. A
/// <see cref="Memory{T}"/> keeps a reference to its owner, and <see cref="GetSpan"/> and <see cref="Pin"/> check that
/// reference, so a
/// <see cref="Memory{T}"/> obtained before <c>Dispose</c> throws <see cref="ObjectDisposedException"/> afterwards
/// instead of reaching a block that was handed out again. (A <see cref="Span{T}"/> taken before <c>Dispose</c>
/// cannot be checked; like a span over a returned pooled array, it must not be used afterwards.)</para>
/// <para><b>Lifetime.</b> <c>Dispose</c> is idempotent and safe to race from several threads: each rent gives the
/// block a new ticket, and only the caller whose compare-exchange ends that ticket returns the block, so exactly
/// one does, and a late caller can never return the block of a later rent. The claim is made on the block, not on
/// the owner: the owner's own fields are only read and written plainly, so when the owner does not escape the
/// method that rents and disposes it, the JIT can allocate it on the stack. An owner that is
/// never disposed leaks its block's guard too, whose finalizer returns the memory and has the pool count the leak
/// (see <see cref="NativeMemoryPoolStatistics.Leaked"/>). A pinned <see cref="MemoryHandle"/> and every
/// <see cref="Memory{T}"/> keep the owner reachable, so memory still referenced that way is never finalized.
/// Only a <see cref="Span{T}"/> or pointer used after the last reference to a never-disposed owner is gone can
/// see its block freed: hold the owner until you dispose it.</para>
/// <para><b>Size.</b> The object is 32 bytes on the GC heap (16 of header and method table, 8 for the block's
/// guard, 4 length, 4 ticket): the only managed allocation of a rent. The owner has no finalizer (allocating a
/// finalizable object costs about 110 ns more on this project's machine, twice a whole <c>MemoryPool&lt;byte&gt;.Shared</c>
/// rent); the guard, a <c>NativeBlock</c>, is finalizable and is recycled with its block.</para>
/// </remarks>
/// <typeparam name="T">The element type.</typeparam>
[DebuggerDisplay("{ToString(),nq}")]
[DebuggerTypeProxy(typeof(NativeMemoryOwnerDebugView<>))]
public sealed unsafe class NativeMemoryOwner<T> : MemoryManager<T>, IDisposable
    where T : unmanaged
{
    private readonly int _length;

    // The rent's ticket (see NativeBlock.Ticket): the Dispose whose TryEndRent succeeds returns the block.
    private readonly int _ticket;

    // The rented block; null once disposed.
    private NativeBlock? _block;

    internal NativeMemoryOwner(NativeBlock block, int length, int ticket)
    {
        _block = block;
        _length = length;
        _ticket = ticket;
    }

    /// <summary>The number of elements in the block (the whole usable size, at least what was asked for).</summary>
    /// <remarks>Readable after <c>Dispose</c>: it is the length the block had.</remarks>
    public int Length => _length;

    /// <summary>True once the block has gone back.</summary>
    public bool IsDisposed => Volatile.Read(ref _block) is null;

    /// <summary>The memory of the whole block.</summary>
    /// <exception cref="ObjectDisposedException">The owner was disposed.</exception>
    public override Memory<T> Memory
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            if (_block is null)
            {
                ThrowHelper.ThrowOwnerDisposed();
            }

            return CreateMemory(_length);
        }
    }

    /// <summary>The span of the whole block.</summary>
    /// <exception cref="ObjectDisposedException">The owner was disposed.</exception>
    public Span<T> Span
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => GetSpan();
    }

    /// <summary>The address of the block; valid until the owner is disposed.</summary>
    /// <exception cref="ObjectDisposedException">The owner was disposed.</exception>
    public T* Pointer => (T*)LiveBlock().Pointer;

    /// <summary>The span of the whole block; what every <see cref="Memory{T}"/> made from this owner reads.</summary>
    /// <returns>The span.</returns>
    /// <exception cref="ObjectDisposedException">The owner was disposed.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public override Span<T> GetSpan() => new((void*)LiveBlock().Pointer, _length);

    /// <summary>
    /// The block's address at <paramref name="elementIndex"/>. Native memory never moves, so nothing is pinned and
    /// <see cref="Unpin"/> does nothing; the handle keeps this owner reachable until it is disposed.
    /// </summary>
    /// <param name="elementIndex">The element whose address the handle holds, from 0 to <see cref="Length"/>.</param>
    /// <returns>The handle.</returns>
    /// <exception cref="ObjectDisposedException">The owner was disposed.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="elementIndex"/> is negative or above <see cref="Length"/>.</exception>
    public override MemoryHandle Pin(int elementIndex = 0)
    {
        NativeBlock block = LiveBlock();
        if ((uint)elementIndex > (uint)_length)
        {
            ThrowHelper.ThrowPinIndex(elementIndex, _length);
        }

        return new MemoryHandle((T*)block.Pointer + elementIndex, default, this);
    }

    /// <summary>Does nothing: native memory is never moved, so there is nothing to unpin.</summary>
    public override void Unpin()
    {
    }

    /// <summary>"Allocator.Buffers.NativeMemoryOwner&lt;Byte&gt;[4096]", with " (disposed)" once returned. Never throws.</summary>
    /// <returns>The description.</returns>
    public override string ToString() =>
        $"Allocator.Buffers.NativeMemoryOwner<{typeof(T).Name}>[{_length}]{(IsDisposed ? " (disposed)" : string.Empty)}";

    /// <summary>Returns the block to the pool; does nothing if that was already done. Safe to call from several threads at once.</summary>
    /// <remarks>
    /// Re-implements <see cref="IDisposable.Dispose"/>, so <c>IMemoryOwner&lt;T&gt;.Dispose</c> comes here directly:
    /// <see cref="MemoryManager{T}"/>'s own would also call <see cref="GC.SuppressFinalize"/>, useless for an
    /// object without a finalizer and a measurable part of a rent.
    /// </remarks>
    public void Dispose()
    {
        NativeBlock? block = _block;
        if (block is null)
        {
            return;
        }

        _block = null;
        if (block.TryEndRent(_ticket))
        {
            PoolState.Return(block);
        }
    }

    /// <summary>
    /// A second owner of this rent's block and ticket: what a Dispose racing this owner's has read when it loses the
    /// race after the winner cleared the block. For tests of the claim.
    /// </summary>
    internal NativeMemoryOwner<T> LosingRacer() => new(LiveBlock(), _length, _ticket);

    /// <summary>The same as <see cref="Dispose()"/>.</summary>
    /// <param name="disposing">Ignored: there is no finalizer.</param>
    protected override void Dispose(bool disposing) => Dispose();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private NativeBlock LiveBlock()
    {
        NativeBlock? block = _block;
        if (block is null)
        {
            ThrowHelper.ThrowOwnerDisposed();
        }

        return block;
    }
}

/// <summary>What the debugger shows for a <see cref="NativeMemoryOwner{T}"/>: its length, its state, and its first elements.</summary>
/// <typeparam name="T">The element type.</typeparam>
internal sealed class NativeMemoryOwnerDebugView<T>(NativeMemoryOwner<T> owner)
    where T : unmanaged
{
    /// <summary>The number of elements.</summary>
    public int Length => owner.Length;

    /// <summary>"live" or "disposed".</summary>
    public string State => owner.IsDisposed ? "disposed" : "live";

    /// <summary>A copy of the first 1024 elements (none once disposed).</summary>
    [DebuggerBrowsable(DebuggerBrowsableState.RootHidden)]
    public T[] Items
    {
        get
        {
            try
            {
                return owner.GetSpan()[..Math.Min(owner.Length, 1024)].ToArray();
            }
            catch (ObjectDisposedException)
            {
                return [];
            }
        }
    }
}
