using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace Allocator.Heap;

/// <summary>
/// A minimal test-and-set lock for short critical sections on paths where <see cref="Lock"/>'s own cost shows:
/// entering takes one compare-exchange and leaving one store, with no thread-static lookup (a <see cref="Lock"/>
/// records its owner's thread id, which costs a <c>__tls_get_addr</c> call on Linux). Not reentrant, no owner
/// tracking: use it only around code that cannot re-enter it. A waiter spins, then yields, then sleeps
/// (<see cref="SpinWait"/>), so a holder that is descheduled does not burn a core for long.
/// </summary>
/// <remarks>Invariant: <see cref="_taken"/> is 1 exactly while some thread is inside the gate.</remarks>
internal struct SpinGate
{
    private int _taken;

    /// <summary>Enters the gate; dispose the scope (a <c>using</c>) to leave it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    [UnscopedRef]
    public Scope Enter()
    {
        if (Interlocked.CompareExchange(ref _taken, 1, 0) != 0)
        {
            EnterSlow();
        }

        return new Scope(ref _taken);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void EnterSlow()
    {
        SpinWait spin = default;
        do
        {
            spin.SpinOnce();
        }
        while (Volatile.Read(ref _taken) != 0 || Interlocked.CompareExchange(ref _taken, 1, 0) != 0);
    }

    /// <summary>Leaves the gate when disposed.</summary>
    public readonly ref struct Scope
    {
        private readonly ref int _taken;

        internal Scope(ref int taken) => _taken = ref taken;

        /// <summary>Leaves the gate.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Dispose() => Volatile.Write(ref _taken, 0);
    }
}
