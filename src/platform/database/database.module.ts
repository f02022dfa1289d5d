import { Module, type DynamicModule } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { StatisticsKeeper } from './statistics-keeper.js';

/**
 * Hands the one, already initialised and migrated DataSource to Nest (`@InjectDataSource()`).
 * The process that created it also closes it, after the HTTP server has drained. Every process
 * also keeps the planner's statistics up with bulk loads ({@link StatisticsKeeper}).
 */
@Module({})
export class DatabaseModule {
  static forRoot(dataSource: DataSource): DynamicModule {
    return {
      module: DatabaseModule,
      imports: [
        TypeOrmModule.forRootAsync({
          useFactory: () => ({ ...dataSource.options, manualInitialization: true }),
          dataSourceFactory: async () => dataSource,
        }),
      ],
      providers: [StatisticsKeeper],
    };
  }
}
