import { screen } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ModelPublic } from '@/lib/protocol';
import { renderWithProviders, stubApi } from '@/test/render';
import { ModelPicker } from './ModelPicker';

afterEach(() => {
  vi.unstubAllGlobals();
});

const model = (name: string, fields: Partial<ModelPublic> = {}): ModelPublic => ({
  name, kind: 'causal_lm', state: 'available', reason: null, default: false, description: null, progress: null, eta_s: null, ...fields,
});

describe('ModelPicker', () => {
  it('lists a model a first run is still building, disabled, with its progress and time left', async () => {
    stubApi({
      'GET /api/models': () => [
        model('smollm2', { default: true, state: 'loaded' }),
        model('retrieval', { kind: 'retrieval', state: 'building', progress: 0.43, eta_s: 250, reason: 'building — 43 %, about 4 min left (embedding)' }),
        model('psychotherapist', { state: 'unavailable', reason: 'weights missing' }),
      ],
    });
    renderWithProviders(<ModelPicker sessionId="s1" model={null} />);
    const building = await screen.findByRole('option', { name: 'retrieval (building — 43 %, about 4 min left)' });
    expect(building).toBeDisabled();
    expect(screen.getByRole('option', { name: 'smollm2' })).toBeEnabled();
    expect(screen.queryByRole('option', { name: /psychotherapist/ })).not.toBeInTheDocument();
    const bar = screen.getByRole('progressbar', { name: 'retrieval build' });
    expect(bar).toHaveAttribute('aria-valuenow', '43');
    expect(screen.getByTestId('models-building')).toHaveTextContent('building — 43 %, about 4 min left');
  });

  it('shows no progress when nothing is building', async () => {
    stubApi({ 'GET /api/models': () => [model('smollm2', { default: true })] });
    renderWithProviders(<ModelPicker sessionId="s1" model={null} />);
    await screen.findByRole('option', { name: 'Server default (smollm2)' });
    expect(screen.queryByTestId('models-building')).not.toBeInTheDocument();
  });
});
