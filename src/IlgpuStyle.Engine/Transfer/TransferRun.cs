using System.Diagnostics;
using IlgpuStyle.Devices;
using IlgpuStyle.Imaging;
using IlgpuStyle.Model;
using IlgpuStyle.Ops;
using IlgpuStyle.Optimizers;
using IlgpuStyle.Tensors;

namespace IlgpuStyle.Transfer;

public static partial class StyleTransfer
{
    /// <summary>
    /// One style-transfer run, step by step: <see cref="Open"/> (outputs writable, images loaded, memory checked, network
    /// built, checkpoint read), <see cref="OptimizeScale"/> per scale (its inputs, start image, objective and optimizer,
    /// then iterations), <see cref="WriteOutputs"/> (image, log, loss plot, contact sheet). The state a run carries across
    /// scales (losses, counts, the best image, the snapshots) lives here.
    /// </summary>
    sealed class TransferRun : IDisposable
    {
        readonly StyleTransferOptions o;
        readonly ComputeDevice device;
        readonly ITransferListener listener;
        readonly CancellationToken cancel;
        readonly Stopwatch clock = Stopwatch.StartNew();
        readonly StartupSplit startup;
        readonly List<string> written = new();
        readonly List<(int Iteration, double Content, double Style, double Tv, double Total, double Ms)> losses = new();
        readonly List<ScaleStart> scaleStarts = new();
        readonly List<(string Label, RgbImage Image)> frames = new();
        readonly Random random;
        HostInputs inputs = null!;
        NetworkWeights weights = null!;
        Network network = null!;
        Checkpoint.Header? resume;
        BinaryReader? resumeReader;
        RgbImage? current;
        int totalIterations, totalEvaluations, bestIteration;
        double finalLoss = double.NaN, bestLoss = double.PositiveInfinity;
        TimeSpan firstIteration;

        public bool Cancelled { get; private set; }

        /// <summary>The first scale to run: 0, or a checkpoint's.</summary>
        public int FirstScale => resume?.Scale ?? 0;

        TransferRun(StyleTransferOptions o, ComputeDevice device, ITransferListener listener, CancellationToken cancel)
        {
            (this.o, this.device, this.listener, this.cancel) = (o, device, listener, cancel);
            startup = new StartupSplit(device);
            random = new Random(o.Seed);
        }

        public static TransferRun Open(StyleTransferOptions o, ComputeDevice device, ITransferListener listener, CancellationToken cancel)
        {
            var run = new TransferRun(o, device, listener, cancel);
            try
            {
                run.startup.Phase("inputs", () =>
                {
                    EnsureWritable(o.OutputPath);
                    using (device.Span("read images", "host")) run.inputs = HostInputs.Load(o);
                    // Will it fit? Checked before anything is allocated on the device.
                    MemoryEstimate.Check(o, run.inputs.Content.Width, run.inputs.Content.Height, device.MemoryBytes, device.ToString());
                });
                run.startup.Phase("network", () =>
                {
                    using (device.Span("read weights", "host")) run.weights = LoadWeights(o, listener);
                    run.network = Build(o, device, run.weights);
                });
                run.OpenCheckpoint();
                return run;
            }
            catch
            {
                run.Dispose();
                throw;
            }
        }

        /// <summary>Resuming: skip to the checkpoint's scale; its image and optimizer state replace the start there.</summary>
        void OpenCheckpoint()
        {
            if (o.ResumePath is null) return;
            (resume, resumeReader) = Checkpoint.Open(o.ResumePath, o);
            foreach (var l in resume.Losses) losses.Add(((int)l[0], l[1], l[2], l[3], l[4], l[5]));
            totalIterations = resume.TotalIterations;
            listener.Info($"resuming from {o.ResumePath}: scale {resume.Scale + 1}, iteration {resume.Iteration}");
        }

        /// <summary>The tensors of one scale: the image, the last finite image (for the NaN guard), the best (--keep-best).</summary>
        sealed class ScaleState(int scale, int width, int height, Tensor x, Tensor lastGood, Tensor? best) : IDisposable
        {
            public int Scale => scale;
            public int Width => width;
            public int Height => height;
            public Tensor X => x;
            public Tensor LastGood => lastGood;
            public Tensor? Best => best;
            public IStyleObjective Objective { get; set; } = null!;
            public IOptimizer Optimizer { get; set; } = null!;

            public void Dispose()
            {
                Optimizer?.Dispose();
                Objective?.Dispose();
                best?.Dispose();
                lastGood.Dispose();
                x.Dispose();
            }
        }

        public void OptimizeScale(int scale)
        {
            int size = o.ImageSize >> (o.Scales - 1 - scale);
            using var input = startup.Phase("inputs", () =>
            {
                using (device.Span($"resize and upload images, scale {scale + 1}", "host")) return ScaleInputs.Prepare(o, device, inputs, size, scale);
            });
            int w = input.ContentImage.Width, h = input.ContentImage.Height;
            listener.Info($"scale {scale + 1}/{o.Scales}: {w}×{h}");
            // Its first iteration, for the loss plot's marker (a resumed scale started before the checkpoint).
            bool resumed = resume is not null && scale == resume.Scale;
            scaleStarts.Add(new ScaleStart(resumed ? resume!.TotalIterations - resume.Iteration + 1 : totalIterations + 1, w, h));
            var shape = input.Content.Shape;
            using var state = new ScaleState(scale, w, h, new Tensor(device, shape, "image"), new Tensor(device, shape, "image.last_good"),
                o.KeepBest && scale == o.Scales - 1 ? new Tensor(device, shape, "image.best") : null);
            // Starting image: previous scale upsampled, or random / content / given image.
            if (current is not null)
                using (device.Span("upload the previous scale's image", "host")) state.X.CopyFrom(Preprocessing.ToNetwork(current.Resize(w, h)));
            else Start(o, inputs, input, state.X, random);
            (state.Objective, state.Optimizer) = startup.Phase("targets", () =>
                Setup(o, device, scale, () => o.Tile is { } tile
                    ? TiledObjective.FromSources(network, state.X, input.Content, input.Sources, o, tile)
                    : new StyleObjective(network, state.X, input.Content, input.Sources, input.Regions, o)));
            int first = resumed ? ResumeInto(state) : 1;

            using (device.Span("start image", "run")) Op.Copy(state.LastGood, state.X);
            for (int i = first; i <= o.Iterations; i++)
            {
                if (cancel.IsCancellationRequested) { Cancelled = true; break; }
                bool more = totalIterations == 0 ? startup.Phase("first iteration", () => Iterate(state, i)) : Iterate(state, i);
                startup.Stop();
                if (!more) break;
            }
            totalEvaluations += state.Optimizer.Evaluations;
            using var download = device.Span("download image", "host");
            if (state.Best is not null && bestIteration > 0)
            {
                current = Preprocessing.Download(state.Best);
                listener.Info($"--keep-best: writing iteration {bestIteration} (loss {bestLoss:G6})");
            }
            else current = Preprocessing.Download(state.X);
        }

        /// <summary>The checkpoint's image, optimizer state and best image; returns the iteration to continue from.</summary>
        int ResumeInto(ScaleState state)
        {
            try
            {
                TensorIO.Read(resumeReader!, state.X);
                state.Optimizer.Load(resumeReader!);
                if (state.Best is not null && resume!.BestLoss is { } resumedBest)
                {
                    TensorIO.Read(resumeReader!, state.Best);
                    (bestLoss, bestIteration) = (resumedBest, resume.BestIteration);
                }
            }
            catch (Exception e) when (e is EndOfStreamException or InvalidDataException)
            {
                throw new ArgumentException($"checkpoint '{o.ResumePath}' cannot be read: {e.Message}");
            }
            return resume!.Iteration + 1;
        }

        /// <summary>One iteration: the optimizer's step with the NaN guard and --keep-best, then the record, a checkpoint and
        /// a snapshot when due. False when the optimizer has converged.</summary>
        bool Iterate(ScaleState state, int i)
        {
            var iterationClock = Stopwatch.StartNew();
            double f;
            // The iteration's span holds the optimizer step and the run's own checks and copies after it.
            using (device.Span($"iteration {totalIterations + 1}", "iteration"))
            {
                if (state.Optimizer.Step() is not { } loss)
                {
                    listener.Info($"converged after {i - 1} iterations");
                    return false;
                }
                f = loss;
                GuardFinite(state, f, i);
                if (state.Best is not null && f < bestLoss)
                {
                    // Adam reports the loss of the image it started the step from (still in lastGood).
                    Op.Copy(state.Best, state.Optimizer.LossBeforeStep ? state.LastGood : state.X);
                    (bestLoss, bestIteration) = (f, i);
                }
                Op.Copy(state.LastGood, state.X);
            }
            Record(state, i, f, iterationClock.Elapsed.TotalMilliseconds);
            if (o.CheckpointEvery > 0 && i % o.CheckpointEvery == 0) WriteCheckpoint(state, i);
            // The last scale's last iteration is the result (written and on the sheet anyway); an earlier scale's is kept.
            if (o.SaveEvery > 0 && i % o.SaveEvery == 0 && (i < o.Iterations || state.Scale < o.Scales - 1)) SaveSnapshot(state, i);
            return true;
        }

        /// <summary>Keep what was good: where the loss or the image stops being finite, write the last finite image and stop.</summary>
        void GuardFinite(ScaleState state, double f, int i)
        {
            if (double.IsFinite(f) && Op.CountNonFinite(state.X) == 0) return;
            Finish(Preprocessing.Download(state.LastGood), inputs.Content, o).Save(o.OutputPath);
            throw new NonFiniteLossException(
                $"the loss became {(double.IsFinite(f) ? "finite but the image holds NaN/Inf" : f.ToString())} at iteration {i} " +
                $"(scale {state.Scale + 1}); likely causes: --learning-rate too high, or loss weights too large. " +
                $"The image of iteration {i - 1} was written to {o.OutputPath}");
        }

        void Record(ScaleState state, int i, double f, double ms)
        {
            if (totalIterations == 0) firstIteration = clock.Elapsed;
            totalIterations++;
            finalLoss = f;
            var l = state.Objective.Last;
            losses.Add((totalIterations, l.Content, l.Style, l.Tv, f, ms));
            listener.Progress(new TransferProgress(i, o.Iterations, state.Scale + 1, o.Scales, state.Width, state.Height,
                l.Content, l.Style, l.Tv, f, ms, 1000.0 / ms));
        }

        void WriteCheckpoint(ScaleState state, int i)
        {
            var header = new Checkpoint.Header(Checkpoint.Fingerprint(o), state.Scale, i, totalIterations,
                losses.Select(l => new[] { l.Iteration, l.Content, l.Style, l.Tv, l.Total, l.Ms }).ToList(),
                state.Best is not null && bestIteration > 0 ? bestLoss : null, bestIteration);
            using (device.Span("write checkpoint", "host")) Checkpoint.Write(Checkpoint.PathFor(o), header, state.X, state.Optimizer, state.Best);
            if (!written.Contains(Checkpoint.PathFor(o))) written.Add(Checkpoint.PathFor(o));
        }

        /// <summary>--save-every: the image now, and a thumbnail of it for the contact sheet.</summary>
        void SaveSnapshot(ScaleState state, int i)
        {
            string path = Sibling(o.OutputPath, $"_s{state.Scale + 1}_i{i:D4}");
            using var span = device.Span("download and write snapshot", "host");
            var saved = Finish(Preprocessing.Download(state.X), inputs.Content, o);
            saved.Save(path);
            written.Add(path);
            frames.Add(($"scale {state.Scale + 1}, iteration {i}", Thumbnail(saved)));
        }

        /// <summary>The image (with the content's colours where asked), the CSV log, the loss plot and the contact sheet.</summary>
        public TransferResult WriteOutputs()
        {
            using var span = device.Span("write outputs", "host");
            var result = Finish(current!, inputs.Content, o);
            result.Save(o.OutputPath);
            written.Insert(0, o.OutputPath);
            if (o.LogPath is not null)
            {
                WriteLog(o.LogPath, losses);
                written.Add(o.LogPath);
            }
            if (o.WriteLossCurve && losses.Count > 1)
            {
                string curve = Sibling(o.OutputPath, "_loss", ".png");
                LossCurve.Save(curve, losses.Select(l => new LossPoint(l.Iteration, l.Content, l.Style, l.Tv, l.Total)).ToList(), scaleStarts,
                    o.Optimizer == OptimizerKind.Adam ? "Adam" : "L-BFGS");
                written.Add(curve);
            }
            if (frames.Count > 0)
            {
                // --save-every: the saved images and the result on one sheet.
                frames.Add(($"result, {totalIterations} iterations", Thumbnail(result)));
                string sheet = Sibling(o.OutputPath, "_sheet", ".png");
                ContactSheet.Save(sheet, frames);
                written.Add(sheet);
            }
            return new TransferResult(o.OutputPath, totalIterations, totalEvaluations, finalLoss, Cancelled, clock.Elapsed,
                firstIteration, weights.Source, weights.IsRandom, written)
            {
                BestIteration = o.KeepBest && bestIteration > 0 ? bestIteration : null,
                BestLoss = o.KeepBest && bestIteration > 0 ? bestLoss : null,
                Startup = startup,
                Width = result.Width,
                Height = result.Height,
            };
        }

        public void Dispose()
        {
            resumeReader?.Dispose();
            network?.Dispose();
        }
    }
}
