/** 'settled' once `promise` settles, 'still pending' if it has not within `ms`; no timer is left behind. */
export async function within(promise: Promise<unknown>, ms: number): Promise<'settled' | 'still pending'> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<'still pending'>((resolve) => {
    timer = setTimeout(() => resolve('still pending'), ms);
  });
  try {
    return await Promise.race([promise.then(settled, settled), late]);
  } finally {
    clearTimeout(timer);
  }
}

const settled = (): 'settled' => 'settled';
