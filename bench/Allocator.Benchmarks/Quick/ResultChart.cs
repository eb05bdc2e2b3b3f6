using Allocator.Benchmarks.Competitors;
using Allocator.Benchmarks.Workloads;
using ScottPlot;

namespace Allocator.Benchmarks.Quick;

/// <summary>The PNG chart of a <c>quick</c> run: time ratio to ours (top, on a logarithmic scale, so that a
/// workload where one allocator is 80 times slower does not flatten every other bar) and peak RSS (bottom), one
/// group of bars per workload and one colour per allocator.</summary>
public static class ResultChart
{
    private const int Width = 1400;
    private const int Height = 1000;

    /// <summary>Renders <paramref name="report"/> to <paramref name="path"/>.</summary>
    public static void Write(QuickReport report, string path)
    {
        var multiplot = new Multiplot();
        multiplot.AddPlots(2);
        Draw(multiplot.GetPlot(0), report, report.TimeRatio, "Time, ratio to ours (log scale: ours is the line at 1, below it is faster than ours)", logScale: true);
        Draw(multiplot.GetPlot(1), report, report.PeakMiB, "Peak RSS, MiB", logScale: false);
        multiplot.SavePng(path, Width, Height);
    }

    // Ticks of the logarithmic axis: 1-2-5 steps, labelled with the ratio itself.
    private static readonly double[] s_logTicks = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000];

    private static void Draw(Plot plot, QuickReport report, Func<Workload, Competitor, double?> value, string title, bool logScale)
    {
        IReadOnlyList<Workload> workloads = report.Workloads;
        IReadOnlyList<Competitor> competitors = report.Competitors;
        double barWidth = 0.8 / competitors.Count;
        var palette = new ScottPlot.Palettes.Category10();
        var bars = new List<Bar>();
        for (int w = 0; w < workloads.Count; w++)
        {
            for (int c = 0; c < competitors.Count; c++)
            {
                if (value(workloads[w], competitors[c]) is { } v && (!logScale || v > 0))
                {
                    bars.Add(new Bar
                    {
                        Position = w - 0.4 + barWidth * (c + 0.5),
                        Value = logScale ? Math.Log10(v) : v,
                        Size = barWidth,
                        FillColor = palette.GetColor(c),
                        LineWidth = 0,
                    });
                }
            }
        }

        plot.Add.Bars(bars);
        for (int c = 0; c < competitors.Count; c++)
        {
            plot.Legend.ManualItems.Add(new LegendItem { LabelText = competitors[c].Name, FillColor = palette.GetColor(c) });
        }

        plot.ShowLegend(Edge.Right);
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            Enumerable.Range(0, workloads.Count).Select(i => (double)i).ToArray(), workloads.Select(w => w.Name).ToArray());
        if (logScale)
        {
            // Bars start at ratio 1 (log 0): up for allocators slower than ours, down for faster ones.
            double low = bars.Count == 0 ? 0 : Math.Min(0, bars.Min(b => b.Value));
            double high = bars.Count == 0 ? 0 : Math.Max(0, bars.Max(b => b.Value));
            double[] ticks = s_logTicks.Where(t => Math.Log10(t) >= low - 0.35 && Math.Log10(t) <= high + 0.35).ToArray();
            plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
                ticks.Select(Math.Log10).ToArray(), ticks.Select(t => t.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray());
            plot.Add.HorizontalLine(0, 1, Colors.Black);
        }
        else
        {
            plot.Axes.Margins(bottom: 0);
        }

        plot.Title(title);
    }
}
