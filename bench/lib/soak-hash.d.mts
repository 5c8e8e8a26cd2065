export function hashId(id: string): number;
